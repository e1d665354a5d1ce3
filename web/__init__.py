"""The console: pages for a store's people, in the same FastAPI app as the API.

Server-rendered Jinja2 with htmx (vendored under `static/vendor/`, no build step, nothing
fetched from elsewhere). A page checks who is signed in and what they may do, calls the
domain room (the same operations the API calls), and renders a template.
"""
