"""Queue names. Every queue here has a consumer: `flask rq worker` listens on ALL_QUEUES by default."""

DEFAULT = "default"
LICENCES = "licences"

ALL_QUEUES = (LICENCES, DEFAULT)
