"""The simulator's HTTP surface, spoken raw: paths, validation of every input field, error bodies."""

import io

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from generations.eachlabs.client import EachlabsClient, PredictionInput, ProviderRateLimited
from provider_simulator import Simulator

MODEL = "bytedance-seedance-2-0-image-to-video"
IMAGE = "https://images.example.com/first.jpg"


@pytest.fixture
def http(simulator):
    transport = simulator.transport(api_base_url="https://api.eachlabs.ai/v1")
    with httpx.Client(transport=transport, base_url="https://api.eachlabs.ai", headers={"X-API-Key": "k"}) as client:
        yield client


def create(http, input_overrides=None, *, drop=(), **body_overrides):
    inputs = {"prompt": "waves", "image_url": IMAGE, **(input_overrides or {})}
    for name in drop:
        inputs.pop(name)
    return http.post("/v1/prediction/", json={"model": MODEL, "input": inputs, **body_overrides})


def assert_error(response, status, *, mentions=""):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and isinstance(body["message"], str) and isinstance(body["details"], str)
    assert mentions in body["message"] + body["details"]


def test_create_answers_the_prediction_id_and_status(http):
    response = create(http)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success" and body["predictionID"]


def test_poll_uses_the_polling_vocabulary(http, simulator):
    prediction_id = create(http).json()["predictionID"]
    assert http.get(f"/v1/prediction/{prediction_id}").json() == {
        "status": "processing",
        "predictionID": prediction_id,
        "output": None,
    }
    simulator.advance(simulator.config.latency_s)
    body = http.get(f"/v1/prediction/{prediction_id}").json()
    assert body["status"] == "success" and body["output"].endswith(f"/{prediction_id}.mp4")
    assert isinstance(body["metrics"]["predict_time"], float)


@pytest.mark.parametrize(
    "field,value",
    [("resolution", value) for value in ("480p", "720p")]
    + [("duration", value) for value in ["auto", *map(str, range(4, 16))]]
    + [("aspect_ratio", value) for value in ("auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")]
    + [("generate_audio", True), ("generate_audio", False), ("seed", "123"), ("end_user_id", "eu_1")]
    + [("end_image_url", "https://images.example.com/last.webp")],
)
def test_every_allowed_value_is_accepted(http, field, value):
    assert create(http, {field: value}).status_code == 200


@pytest.mark.parametrize(
    "field,value",
    [
        ("resolution", "1080p"),
        ("resolution", "720"),
        ("duration", "3"),
        ("duration", "16"),
        ("duration", "5s"),
        ("duration", 5),  # a number, not the string the contract wants
        ("aspect_ratio", "2:1"),
        ("aspect_ratio", "16x9"),
        ("generate_audio", "true"),  # stringified, not a JSON boolean
        ("generate_audio", 1),
        ("seed", 123),
        ("end_user_id", 7),
        ("prompt", ""),
        ("prompt", 12),
        ("image_url", "http://images.example.com/a.jpg"),
        ("image_url", "ftp://images.example.com/a.jpg"),
        ("image_url", "data:image/png;base64,iVBORw0KGgo="),
        ("image_url", "images.example.com/a.jpg"),
        ("image_url", "https://images.example.com/a.gif"),
        ("end_image_url", "data:image/jpeg;base64,/9j/"),
        ("end_image_url", "http://images.example.com/b.png"),
        ("colour", "blue"),
    ],
)
def test_invalid_values_are_400(http, field, value):
    assert_error(create(http, {field: value}), 400, mentions=field)


@pytest.mark.parametrize("field", ["prompt", "image_url"])
def test_required_fields(http, field):
    assert_error(create(http, drop=[field]), 400, mentions=field)


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/a.png",
        "https://127.0.0.1:8000/media/a.png",
        "https://[::1]/a.png",
        "https://10.0.0.5/a.png",
        "https://192.168.1.20/a.png",
        "https://studio.localhost/a.png",
    ],
)
def test_local_urls_are_refused_unless_allowed(http, simulator, url):
    simulator.config.allow_local_urls = False
    assert_error(create(http, {"image_url": url}), 400, mentions="localhost")
    simulator.config.allow_local_urls = True
    assert create(http, {"image_url": url}).status_code == 200


def test_allowed_local_urls_may_be_plain_http(http, simulator):
    simulator.config.allow_local_urls = True
    assert create(http, {"image_url": "http://127.0.0.1:9/a.png"}).status_code == 200


def test_body_shape_errors(http):
    assert_error(http.post("/v1/prediction/", content=b"not json"), 400, mentions="JSON")
    assert_error(http.post("/v1/prediction/", json=["a"]), 400, mentions="JSON")
    assert_error(
        http.post("/v1/prediction/", json={"input": {"prompt": "x", "image_url": IMAGE}}), 400, mentions="model"
    )
    stringified = '{"prompt": "x", "image_url": "https://images.example.com/a.jpg"}'
    assert_error(http.post("/v1/prediction/", json={"model": MODEL, "input": stringified}), 400, mentions="input")
    assert_error(create(http, webhook_url="not a url"), 400, mentions="webhook_url")


def test_unknown_model_and_unknown_paths_are_404(http):
    response = http.post("/v1/prediction/", json={"model": "some-other-model", "input": {}})
    assert_error(response, 404, mentions="some-other-model")
    assert_error(http.get("/v1/prediction/nope"), 404, mentions="nope")
    assert_error(http.get("/v1/models/"), 404)


def test_missing_key_is_401_before_anything_else(simulator):
    transport = simulator.transport(api_base_url="https://api.eachlabs.ai/v1")
    with httpx.Client(transport=transport, base_url="https://api.eachlabs.ai") as anonymous:
        assert_error(anonymous.post("/v1/prediction/", json={"model": "x"}), 401, mentions="X-API-Key")
        assert_error(anonymous.get("/v1/prediction/abc"), 401)
        assert_error(anonymous.post("/v1/prediction/", headers={"X-API-Key": ""}, json={}), 401)


def _store_image(name: str, size=(320, 180), fmt="PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, fmt)
    return default_storage.save(name, ContentFile(buffer.getvalue()))


def test_own_media_images_are_read_and_checked(http, settings):
    good = _store_image("frames/good.png")
    assert create(http, {"image_url": f"{settings.SITE_URL}{settings.MEDIA_URL}{good}"}).status_code == 200
    bogus = default_storage.save("frames/bogus.png", ContentFile(b"this is not an image"))
    response = create(http, {"image_url": f"{settings.SITE_URL}{settings.MEDIA_URL}{bogus}"})
    assert_error(response, 400, mentions="JPEG, PNG or WebP")
    gif = _store_image("frames/anim.img", fmt="GIF")
    assert_error(create(http, {"image_url": f"{settings.SITE_URL}{settings.MEDIA_URL}{gif}"}), 400, mentions="JPEG")
    missing = f"{settings.SITE_URL}{settings.MEDIA_URL}frames/missing.png"
    assert_error(create(http, {"image_url": missing}), 400, mentions="could not be fetched")


def test_wrong_methods_are_405(http):
    assert http.get("/v1/prediction/").status_code == 405
    assert http.delete("/v1/prediction/abc").status_code == 405


def test_state_is_shared_by_every_process_using_the_same_directory(simulator, tmp_path):
    """A second Simulator on the same directory stands in for a web server next to a django-q2 worker."""

    worker = Simulator(
        state_dir=simulator.store.directory, output_base_url=simulator.output_base_url, clock=simulator.clock
    )
    clients = [
        EachlabsClient(
            base_url="https://api.eachlabs.ai/v1",
            api_key="shared-key",
            connect_timeout_s=1,
            read_timeout_s=5,
            transport=sim.transport(api_base_url="https://api.eachlabs.ai/v1"),
        )
        for sim in (simulator, worker)
    ]
    inputs = PredictionInput(prompt="x", image_url=IMAGE)
    ids = [clients[index % 2].create_prediction(inputs) for index in range(10)]
    assert {clients[1].get_prediction(prediction_id).id for prediction_id in ids} == set(ids)
    with pytest.raises(ProviderRateLimited):  # the ten in flight count for both processes
        clients[0].create_prediction(inputs)


def test_keys_have_their_own_limits_and_only_accepted_keys_get_in(simulator):
    simulator.configure(accepted_keys=["limited", "roomy"], key_concurrency_limits={"limited": 2})
    transport = simulator.transport(api_base_url="https://api.eachlabs.ai/v1")

    def client_for(key):
        return httpx.Client(transport=transport, base_url="https://api.eachlabs.ai", headers={"X-API-Key": key})

    with client_for("limited") as limited, client_for("roomy") as roomy, client_for("revoked") as revoked:
        assert_error(create(revoked), 401, mentions="not valid")
        first = create(limited).json()["predictionID"]
        assert create(limited).status_code == 200
        assert_error(create(limited), 429, mentions="2 concurrent")  # its own limit, not the default 10
        assert [create(roomy).status_code for _ in range(3)] == [200, 200, 200]
        # A prediction belongs to the key that created it.
        assert roomy.get(f"/v1/prediction/{first}").status_code == 404
        assert limited.get(f"/v1/prediction/{first}").status_code == 200
