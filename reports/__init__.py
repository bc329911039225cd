"""Read-only reports on the contingent and its movement, the order journal, the audit log view and dashboards.

Every count of students and of their movement comes from `reports.query`, the one set-based layer over the
students' timeline (DESIGN.md section 4: reports read the timeline and the orders and write nothing).
"""
