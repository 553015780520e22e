"""Django's PostgreSQL backend, grouping by every selected column of a tenant-owned table.

Django groups an aggregate query by a table's primary key alone and leaves out the table's
other columns, which PostgreSQL accepts when that column is the whole primary key. A
tenant-owned table's primary key is (tenant_id, id) (oms/core/tenant_fk.py), so `id` alone no
longer determines the row: for those tables Django lists the selected columns instead.
"""
