"""The merchant's workspace: the dashboard on the admin's home page and the exceptions queue.

Reads every domain room; no room imports it (docs/architecture.md, docs/dashboard.md).
"""
