from app.portal import (  # noqa: F401,E402  (enterprise pages and mandates, ratings: same blueprint)
    apply,  # noqa: F401  (the applying pages join the portal blueprint)
    enterprise,
    licence_sharing,  # noqa: F401  (share links, on the same blueprint)
    ratings,
)
from app.portal.routes import bp  # noqa: F401
