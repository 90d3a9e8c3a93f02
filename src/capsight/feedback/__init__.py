"""The feedback loop: corrections sent to ``POST /v1/feedback`` become a training folder (``capsight
feedback export``), a model trained on it becomes the served one only when it scores better on the
same held-out photos (``capsight promote``)."""
