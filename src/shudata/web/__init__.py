"""L7 web layer: FastAPI app factory, API routes and server-rendered pages."""
