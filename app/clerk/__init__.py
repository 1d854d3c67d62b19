from app.clerk import licences  # noqa: F401  (the licence pages, on the same blueprint)
from app.clerk.routes import bp  # noqa: F401
