"""Queue names. Every queue here has a consumer (`flask rq worker` listens on ALL_QUEUES by default) and work to do:
a job of services/jobs/registry.py or a periodic job (tests/services/test_jobs_registry.py checks both)."""

DEFAULT = "default"
LICENCES = "licences"
MAIL = "mail"

ALL_QUEUES = (LICENCES, MAIL, DEFAULT)
