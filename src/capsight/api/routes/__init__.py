"""HTTP routes, one module per group: classify (legacy + /v1), models, health, the Open Inference
Protocol (/v2), and operations (metrics, the web page)."""
