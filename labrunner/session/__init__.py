"""The running lab: progress, the current step, and (to come) watch and the TUI's session.

Core: imports neither Textual nor the kubernetes client.
"""
