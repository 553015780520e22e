"""Staff sign-in security: a second factor (TOTP, django-otp) and lockout after failures (django-axes).

- `rules.py`: who must enrol a second factor, who must verify it, and which staff a person may
  help (see their lockouts and devices, clear and reset them).
- `middleware.py`: every staff page (admin, warehouse, account) asks for the second factor.
- `views.py`: the enrolment page (QR code drawn here, no CDN) and the verification page.
- `lockout.py`: the client address behind trusted proxies and the "account locked" page.
- `admin.py`: lockouts, the sign-in log and devices, scoped to the tenant's staff.
docs/security.md tells the rules.
"""
