from django.apps import AppConfig

from core.events import Event, subscribe
from maintenance import replay_handlers


class ManifestsConfig(AppConfig):
    name = "manifests"

    def ready(self) -> None:
        # local import: the subscribers and the replay import services and models, loadable once the
        # app registry is ready
        from . import replay, subscribers

        subscribe(Event.DECLARATION_STATUS_CHANGED, subscribers.on_declaration_status_changed)
        # Buffered manifests are lodged by this app when the replay runs (README "Architecture").
        replay_handlers.register("manifests", lodge=replay.lodge_buffered)
        replay_handlers.register("manifests.edifact", lodge=replay.lodge_buffered)
