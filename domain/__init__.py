"""The domain room: what a lead, an event, a journey, a message and a task mean.

Every door (the API, the activities, and later the console's pages and the store-system
connectors) validates its input, calls an operation here, and answers. An operation runs
inside the caller's unit of work (a `Session`), raises a `DomainError` (`errors`) when a rule
says no, and returns plain data: rows, and for Temporal the `Effects` (`effects`) the door
applies once the unit of work has committed.

One module per aggregate:
- `leads`: identity (phones, emails, POS ids) and `find_or_create_lead`;
- `consent`: the ledger's rules, what an inbound text means, unsubscribe links;
- `events`: `record_event_once`, and what journeys hear of an event;
- `enrollment`: which journeys a lead belongs in, their rows, what journeys know of a lead;
- `scoring` (and `learning`): segmenting and scoring a lead, the store's learned model;
- `tasks`: opening a task (routed, then escalated by its workflow), who sees and works it;
- `messages` (with `gate` and `notices`): the life of a message, the send gate, staff notices.

The use cases more than one door runs: `intake` (a capture, an event for a known lead),
`purchases` (a sale, a custom job's status), `inbound` (texts, delivery reports,
unsubscribes), `sequences` (publishing and previewing). Beside them: `access` (who acts),
`fields` (values every door checks alike) and `reference` (the rarely-changing rows a process
keeps for a few seconds).
"""
