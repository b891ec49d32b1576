"""The running lab: the Session (check, jump, hints, solve, reset, watch, grade), its Rules and progress.

Core: imports neither Textual nor the kubernetes client.
"""
