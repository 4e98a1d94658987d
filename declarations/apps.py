from django.apps import AppConfig

from maintenance import periods, replay_handlers


class DeclarationsConfig(AppConfig):
    name = "declarations"

    def ready(self) -> None:
        # local import: the replay and the deadlines import models, loadable once the registry is ready
        from . import replay
        from .services import deadlines

        # An outage or buffer window that ended moves the unpaid payment due dates it covers.
        periods.subscribe(deadlines.contingency_period_ended)
        # Buffered declarations are lodged by this app when the replay runs (README "Architecture").
        replay_handlers.register("declarations", lodge=replay.lodge_buffered, lodge_chunk=replay.lodge_buffered_chunk)
        replay_handlers.register("declarations.lodge", lodge=replay.lodge_buffered)
