"""The gateway's ASGI edge: app, order-entry fast path, REST, /ws, OpenAPI, hypercorn tuning."""
