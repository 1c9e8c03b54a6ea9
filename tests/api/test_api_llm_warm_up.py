"""The REST service readies feedback as it starts (issue 18: the API's first feedback after a start paid the
embedded model's load, the prompt's fixed part and the corpus index's opening, ~25 s): in the background, the
local llama.cpp server is started and reads the prompt's fixed part, and the retriever is opened, while
/healthz answers at once. The first feedback is then answered by that same server. With a configured LLM
server only the retriever is opened; with the setting off, nothing. Real scorer, real PercePiano MIDI, real
llama.cpp server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.settings import Settings
from tests.api_support import Api, start_api, upload_book, wait_scored

RECORDING = "data/percepiano/performance_midi/Beethoven_WoO80_var8_8bars_2_6.mid"


def _scored(api: Api) -> str:
    path = api.settings.shared_dir / RECORDING
    response = api.client.post(
        "/v1/performances", headers=api.student, files={"file": (path.name, path.read_bytes(), "audio/midi")}
    )
    assert response.status_code == 202, response.text
    return str(wait_scored(api, response.json()["id"])["id"])


def _wait_for(condition, timeout_s: float = 120) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(condition())


@pytest.mark.llm
def test_the_service_warms_the_llm_as_it_starts_and_that_server_answers_the_first_feedback(
    tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path
) -> None:
    from rag.generation.local_llm import LocalLLMServer

    LocalLLMServer.stop_shared()  # cold, as a freshly started service is
    # the defaults (the embedded LLM), warm-up on as it is by default; SQLite: the database plays no part here
    settings = Settings(
        home=tmp_path / "home",
        shared_dir=shared_dir,
        embedding_cache_dir=embedding_cache_dir,
        llm_timeout_s=900.0,
        local_llm_warm_up=True,
    )
    assert Settings.model_fields["local_llm_warm_up"].default is True
    for api in start_api(settings):
        components = api.state.components
        warming = components.llm_warming  # started by the start-up, in the background
        assert warming is not None and components.warm_up_feedback() is warming  # once: no second one
        assert api.client.get("/healthz").status_code == 200
        assert _wait_for(lambda c=components: c.loaded()["retriever"])
        assert upload_book(api, "schumann_advice_to_young_musicians").status_code == 201
        performance_id = _scored(api)
        warming.join(timeout=900)
        server = LocalLLMServer._instance
        assert not warming.is_alive() and server is not None and server.alive()
        response = api.client.post(
            "/v1/feedback", headers=api.student, json={"performance_id": performance_id}
        )
        assert response.status_code == 200, response.text
        assert response.json()["feedback"]["generator"] == "llm"
        assert LocalLLMServer._instance is server  # the warmed server answered; none was started again
    assert LocalLLMServer._instance is None  # the service's shutdown stopped what its warm-up started


def test_a_configured_llm_server_is_not_warmed_and_the_setting_off_warms_nothing(
    unit_settings: Settings,
) -> None:
    from api.components import Components
    from rag.generation.local_llm import LocalLLMServer

    LocalLLMServer.stop_shared()
    configured = Components(
        unit_settings.model_copy(update={"llm_api_base": "http://127.0.0.1:9/v1", "llm_model": "openai/x"})
    )
    assert configured.warm_up_feedback() is None  # whoever runs that server warms it
    assert _wait_for(lambda: configured.loaded()["retriever"])  # the retriever is still opened ahead
    configured.close()

    off = Components(unit_settings.model_copy(update={"local_llm_warm_up": False}))
    assert off.warm_up_feedback() is None and off.warm_up_feedback() is None
    time.sleep(0.5)
    assert off.loaded() == {"scorer": False, "retriever": False, "feedback": False}
    off.close()
    assert LocalLLMServer._instance is None
