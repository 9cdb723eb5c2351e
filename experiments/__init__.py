"""Entry points and the run engine: plans, runners, tasks, tuning, tracking, commands."""
