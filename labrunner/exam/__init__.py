"""Exam mode: tasks (one-step labs with an ``exam:`` section) drawn per attempt with fresh
names, set up on the chosen cluster, timed, graded per sub-task and reviewed. Core: imports
neither Textual nor the kubernetes client."""
