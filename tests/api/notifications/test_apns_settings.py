"""APNs settings: push goes to the dev sink until the auth key is set; every bad value is a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.notifications.channels import ApnsPush, Sink, transports
from api.settings import ConfigError, settings_from
from tests.api.notifications.apns_server import apns_env, auth_key

URL = "https://127.0.0.1:8443"


def test_push_stays_on_the_dev_sink_until_apns_is_configured(tmp_path: Path) -> None:
    settings = settings_from({"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": "s" * 40})
    assert settings.notifications.apns is None
    assert settings.notifications.push_environment == "production"
    push = transports(settings)["push"]
    assert isinstance(push, Sink)
    assert push.path == tmp_path / "outbox" / "push.jsonl"


def test_the_auth_key_turns_apns_on_and_is_never_shown(tmp_path: Path) -> None:
    key_path, _ = auth_key(tmp_path)
    env = {**apns_env(tmp_path, key_path, URL), "PATRONAGE_APNS_ENVIRONMENT": "development"}
    settings = settings_from(env)
    apns = settings.notifications.apns
    assert apns is not None
    assert (apns.key_id, apns.team_id, apns.topic, apns.url) == ("ABC123DEFG", "TEAM123456", "dev.patronage.app", URL)
    assert apns.key == key_path.read_text()
    assert "PRIVATE KEY" not in repr(settings)
    assert settings.notifications.push_environment == "development"
    assert isinstance(transports(settings)["push"], ApnsPush)
    without_url = {k: v for k, v in env.items() if k != "PATRONAGE_APNS_URL"}
    assert settings_from(without_url).notifications.apns.url is None  # type: ignore[union-attr]  # Apple's servers


def _rsa_key(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"PATRONAGE_APNS_ENVIRONMENT": "staging"},
            "PATRONAGE_APNS_ENVIRONMENT must be one of production, development",
        ),
        ({"PATRONAGE_APNS_KEY_PATH": ""}, "PATRONAGE_APNS_KEY_ID is set but PATRONAGE_APNS_KEY_PATH is not"),
        ({"PATRONAGE_APNS_TOPIC": ""}, "PATRONAGE_APNS_TOPIC is required when PATRONAGE_APNS_KEY_PATH is set"),
        ({"PATRONAGE_APNS_KEY_ID": "abc"}, "PATRONAGE_APNS_KEY_ID must be the 10-character id Apple shows"),
        ({"PATRONAGE_APNS_TEAM_ID": "TEAM 12345"}, "PATRONAGE_APNS_TEAM_ID must be the 10-character id"),
        ({"PATRONAGE_APNS_TOPIC": "patronage"}, "PATRONAGE_APNS_TOPIC must be the app's bundle id"),
        ({"PATRONAGE_APNS_URL": "http://127.0.0.1:8443"}, "PATRONAGE_APNS_URL must be a URL with scheme https"),
        ({"PATRONAGE_APNS_URL": "https://127.0.0.1:port"}, "PATRONAGE_APNS_URL must be https://host"),
        ({"PATRONAGE_APNS_KEY_PATH": "{tmp}/missing.p8"}, "must name an APNs auth key file (.p8): .*: No such file"),
        ({"PATRONAGE_APNS_KEY_PATH": "{tmp}/not-a-key.p8"}, "must name an APNs auth key file (.p8): .*not a PEM"),
        ({"PATRONAGE_APNS_KEY_PATH": "{tmp}/rsa.p8"}, "must name an EC P-256 APNs auth key"),
    ],
)
def test_a_bad_apns_setting_stops_startup_with_one_line_naming_it(
    tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    key_path, _ = auth_key(tmp_path)
    (tmp_path / "not-a-key.p8").write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    _rsa_key(tmp_path / "rsa.p8")
    env = apns_env(tmp_path, key_path, URL)
    env.update({name: value.replace("{tmp}", str(tmp_path)) for name, value in changes.items()})
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        settings_from(env)
    assert "\n" not in str(raised.value)
