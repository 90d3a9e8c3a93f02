"""HTTP routes, one module per group: classify (legacy + /v1), models, health, the Open Inference
Protocol (/v2), admin reads (request log, stored images), and operations (metrics, the web page)."""
