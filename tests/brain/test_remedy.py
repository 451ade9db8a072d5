"""The help center's remedy for an email that didn't come: still to give, or spent."""

from __future__ import annotations

import pytest

from deskmate.core.brain.remedy import awaits_email, spent
from deskmate.core.brain.text import match_text


@pytest.mark.parametrize(
    "text",
    [
        "fatto ma la mail non arriva",
        "j'ai cliqué mais je n'ai encore rien reçu",
        "never got it, could it be in spam?",
        "ya lo pedí pero no me llega ningún correo",
    ],
)
def test_an_email_not_come_yet_still_awaits_the_remedy(text: str) -> None:
    assert awaits_email(text)


@pytest.mark.parametrize(
    "text",
    [
        "la mail non arriva, ho già guardato nello spam",  # the spam folder checked
        "fatto due volte, la mail non arriva",  # tried again
        "tried that, still didn't get the refund",  # a refund: its article answers otherwise
        "ho già fatto, il pacco non è arrivato",  # a parcel
    ],
)
def test_a_checked_spam_folder_a_second_try_or_another_thing_is_not_an_awaited_email(
    text: str,
) -> None:
    assert not awaits_email(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi,\n\nI did the reset 3 times now.\nNothing in spam either.",
        "j'ai cliqué sur le lien comme il faut, rien dans les spams",
        "ho fatto l'esportazione tre volte, neanche nello spam",
    ],
)
def test_the_spam_folder_empty_and_a_second_try_spend_the_remedy(text: str) -> None:
    assert spent(match_text(text))


@pytest.mark.parametrize(
    "text",
    [
        "ya revisé en spam y nada",  # one half only: the article still answers
        "asked for a new password 3 times and no email",
        "I checked the spam folder again and found it, thanks!",
        "Im Spam habe ich es gefunden, nach 2 mal versuchen",
    ],
)
def test_one_half_of_the_remedy_or_a_success_does_not_spend_it(text: str) -> None:
    assert not spent(match_text(text))
