"""The AES-GCM payload codec: unit properties, and end to end against a real Temporal server."""

from __future__ import annotations

import shutil
import sysconfig
import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ebok.codec import (
    ENCODING,
    KEY_ID_METADATA,
    AesGcmCodec,
    PayloadDecryptionError,
    data_converter,
    new_key,
)
from ebok.settings import parse_codec_keys

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))

payloads = st.builds(
    Payload,
    metadata=st.dictionaries(st.text(min_size=1, max_size=20), st.binary(max_size=40)),
    data=st.binary(max_size=2000),
)


@given(payloads)
async def test_roundtrip_restores_the_exact_payload(payload: Payload) -> None:
    codec = AesGcmCodec({"a": KEY_A})
    [sealed] = await codec.encode([payload])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"a"
    assert await codec.decode([sealed]) == [payload]


async def test_nonce_is_fresh_for_every_payload() -> None:
    codec = AesGcmCodec({"a": KEY_A})
    same = Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')
    first, second = await codec.encode([same, same])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_ciphertext_hides_data_and_original_metadata() -> None:
    codec = AesGcmCodec({"a": KEY_A})
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"PESEL")])
    assert b"PESEL" not in sealed.data and b"json/plain" not in sealed.data
    assert set(sealed.metadata) == {"encoding", KEY_ID_METADATA}


@pytest.mark.parametrize("index", [0, 11, 12, -1])  # nonce, body, tag
async def test_tampered_ciphertext_fails(index: int) -> None:
    codec = AesGcmCodec({"a": KEY_A})
    [sealed] = await codec.encode([Payload(data=b"amount=123.45")])
    data = bytearray(sealed.data)
    data[index] ^= 0x01
    tampered = Payload(metadata=sealed.metadata, data=bytes(data))
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([tampered])


async def test_truncated_ciphertext_fails() -> None:
    codec = AesGcmCodec({"a": KEY_A})
    [sealed] = await codec.encode([Payload(data=b"x")])
    with pytest.raises(PayloadDecryptionError, match="truncated"):
        await codec.decode([Payload(metadata=sealed.metadata, data=sealed.data[:20])])


async def test_swapped_key_id_fails_even_if_both_keys_are_known() -> None:
    codec = AesGcmCodec({"a": KEY_A, "b": KEY_B})
    [sealed] = await codec.encode([Payload(data=b"x")])
    swapped = Payload(metadata={**sealed.metadata, KEY_ID_METADATA: b"b"}, data=sealed.data)
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([swapped])


async def test_unknown_key_id_fails() -> None:
    [sealed] = await AesGcmCodec({"old": KEY_A}).encode([Payload(data=b"x")])
    with pytest.raises(PayloadDecryptionError, match="'old'.*not in the key ring"):
        await AesGcmCodec({"new": KEY_B}).decode([sealed])


async def test_missing_key_id_fails() -> None:
    with pytest.raises(PayloadDecryptionError, match="no key id"):
        await AesGcmCodec({"a": KEY_A}).decode([Payload(metadata={"encoding": ENCODING})])


async def test_rotation_old_key_still_decrypts_new_key_encrypts() -> None:
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'"before rotation"')
    [old] = await AesGcmCodec({"k1": KEY_A}).encode([payload])
    rotated = AesGcmCodec({"k2": KEY_B, "k1": KEY_A})
    assert rotated.key_ids == ["k2", "k1"]
    assert await rotated.decode([old]) == [payload]
    [new] = await rotated.encode([payload])
    assert new.metadata[KEY_ID_METADATA] == b"k2"


async def test_unencrypted_payloads_pass_through() -> None:
    plain = [Payload(metadata={"encoding": b"json/plain"}, data=b"{}"), Payload(data=b"raw")]
    assert await AesGcmCodec({"a": KEY_A}).decode(plain) == plain


@pytest.mark.parametrize(
    "keys", [{}, {"a": b"short"}, {"": KEY_A}, {"ą": KEY_A}], ids=["empty", "len", "id", "ascii"]
)
def test_bad_key_ring_is_rejected(keys: dict[str, bytes]) -> None:
    with pytest.raises(ValueError):
        AesGcmCodec(keys)


def test_new_key_is_accepted_by_settings_and_random() -> None:
    first, second = new_key(), new_key()
    assert first != second
    assert parse_codec_keys(f"k1:{first},k2:{second}") == {
        "k1": parse_codec_keys(f"x:{first}")["x"],
        "k2": parse_codec_keys(f"x:{second}")["x"],
    }


def test_data_converter_attaches_codec_only_with_keys() -> None:
    assert data_converter({}) is pydantic_data_converter
    encrypted = data_converter({"a": KEY_A})
    assert isinstance(encrypted.payload_codec, AesGcmCodec)
    assert encrypted.payload_converter_class is pydantic_data_converter.payload_converter_class


SECRET = "PESEL-85010112345-secret"


class Greeting(BaseModel):
    name: str
    pesel: str


@workflow.defn
class EchoWorkflow:
    @workflow.run
    async def run(self, greeting: Greeting) -> Greeting:
        return Greeting(name=greeting.name.upper(), pesel=greeting.pesel)


async def test_history_on_a_real_server_holds_no_clear_text() -> None:
    converter = data_converter({"k1": KEY_A})
    temporal = shutil.which("temporal", path=sysconfig.get_path("scripts"))
    assert temporal, "the temporal CLI must be installed next to the interpreter"
    queue = f"codec-{uuid.uuid4()}"
    async with (
        await WorkflowEnvironment.start_local(
            data_converter=converter, dev_server_existing_path=temporal
        ) as env,
        # Unsandboxed: the sandbox would re-import this test module with pytest and hypothesis.
        Worker(
            env.client,
            task_queue=queue,
            workflows=[EchoWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        handle = await env.client.start_workflow(
            EchoWorkflow.run,
            Greeting(name="anna", pesel=SECRET),
            id=f"codec-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=10),
        )
        assert await handle.result() == Greeting(name="ANNA", pesel=SECRET)

        plain = Client(
            env.client.service_client,
            namespace=env.client.namespace,
            data_converter=pydantic_data_converter,
        )
        history = await plain.get_workflow_handle(handle.id).fetch_history()
        raw = History(events=history.events).SerializeToString()
        assert SECRET.encode() not in raw and b"anna" not in raw and b"ANNA" not in raw
        started = history.events[0].workflow_execution_started_event_attributes
        assert started.input.payloads[0].metadata["encoding"] == ENCODING
