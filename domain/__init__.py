"""The domain room: what a lead, an event, a journey, a message and a task mean.

Every door (the API, the activities, and later the console's pages and the store-system
connectors) validates its input, calls an operation here, and answers. An operation runs
inside the caller's unit of work (a `Session`), raises a `DomainError` when a rule says no,
and returns plain data: rows, and for Temporal the `Effects` the door applies once the unit of
work has committed. One module per aggregate:

- `leads`: identity (phones, emails, POS ids) and `find_or_create_lead`;
- `consent`: the ledger's rules, inbound keywords, unsubscribe links;
- `events`: `record_event_once`, and what journeys hear of an event;
- `enrollment`: which journeys a lead belongs in, their rows and facts;
- `scoring` (and `learning`): segmenting and scoring a lead, the store's learned model;
- `tasks`: opening a task (routed, and escalated by its workflow), who sees and works it;
- `messages` (and `gate`, `notices`): the life of a message, the send gate, staff notices.
"""
