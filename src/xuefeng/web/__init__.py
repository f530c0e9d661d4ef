"""The web server (DESIGN.md §2 "Presentation"): `xuefeng.web.app.create_app(token=None, ...)`."""
