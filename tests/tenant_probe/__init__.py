"""A room that exists only in the test settings, built the way the next rooms will be.

It proves that a new tenant-owned model gets the tenant wall without anyone writing it (its
migration was made by `makemigrations` alone) and gives the scoping tests a many-to-many
between tenant-owned models, which the product has none of yet.
"""
