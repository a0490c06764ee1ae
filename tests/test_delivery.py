"""The delivery decision on its own (plain data): aliases count as the group, the first
rule the mail server meets wins, and who receives is every contact."""

from exchange_groups.delivery import (
    MEGABYTE,
    GroupFacts,
    Message,
    Refusal,
    SenderFacts,
    decide,
    size_in_bytes,
)

TEAM = GroupFacts(
    address="team@example.fr",
    aliases=frozenset({"crew@example.fr"}),
    recipients=("friend@partner.com", "ann@example.fr"),
    max_receive_size=MEGABYTE,
    sender_authentication_required=True,
    send_as=frozenset({"carol@example.fr"}),
    send_on_behalf=frozenset({"bob@example.fr"}),
)


def test_recipients_are_the_contacts_sorted():
    verdict = decide(TEAM, Message("Carol@Example.fr", 10, login="carol@example.fr"))
    assert verdict.accepted and verdict.recipients == ("ann@example.fr", "friend@partner.com")


def test_an_alias_is_the_group_for_send_as_and_on_behalf():
    as_alias = Message("crew@example.fr", 10, login="dave@example.fr")
    assert decide(TEAM, as_alias).refusal is Refusal.SEND_AS
    assert decide(TEAM, Message("crew@example.fr", 10, "carol@example.fr")).accepted
    behalf = Message("bob@example.fr", 10, "bob@example.fr", "crew@example.fr", "bob@example.fr")
    assert decide(TEAM, behalf).accepted
    wrong_sender = Message("bob@example.fr", 10, "bob@example.fr", "crew@example.fr", None)
    assert decide(TEAM, wrong_sender).refusal is Refusal.SEND_ON_BEHALF


def test_the_envelope_is_checked_before_the_recipient_and_the_headers():
    # Unauthenticated, too large and sent as the group: the server refuses at MAIL FROM.
    message = Message("team@example.fr", 2 * MEGABYTE, None, "team@example.fr")
    assert decide(TEAM, message).refusal is Refusal.SEND_AS
    message = Message("x@outside.example", 2 * MEGABYTE)
    assert decide(TEAM, message).refusal is Refusal.SENDER_AUTHENTICATION


def test_an_accounts_own_limit_and_address():
    dave = SenderFacts("dave@example.fr", max_send_size=1000)
    assert decide(TEAM, Message("dave@example.fr", 1000, "dave@example.fr"), dave).accepted
    too_big = Message("dave@example.fr", 1001, "dave@example.fr")
    assert decide(TEAM, too_big, dave).refusal is Refusal.ACCOUNT_MAX_SEND_SIZE
    spoofed = Message("dave@example.fr", 10, "carol@example.fr")
    assert decide(TEAM, spoofed, dave).refusal is Refusal.SENDER_NOT_OWNED


def test_sizes_in_megabytes_with_the_platform_maximum():
    assert size_in_bytes(None) == 100 * MEGABYTE
    assert size_in_bytes(3) == 3 * 1_048_576
    assert Refusal.MAX_RECEIVE_SIZE.smtp_reply.startswith("552 5.3.4 ")
