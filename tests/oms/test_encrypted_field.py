from oms.core.fields import decrypt, encrypt


def test_encrypt_round_trip_and_ciphertext_hides_value(settings):
    token = encrypt("sk_live_secret")
    assert "sk_live_secret" not in token
    assert decrypt(token) == "sk_live_secret"


def test_key_rotation_reads_old_values(settings):
    settings.FIELD_ENCRYPTION_KEY = "old-key"
    token = encrypt("value")
    settings.FIELD_ENCRYPTION_KEY = "new-key,old-key"
    assert decrypt(token) == "value"
