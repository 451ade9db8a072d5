"""Escalation triggers: each fires on its own cue, records its reason and can be switched off."""

from __future__ import annotations

import pytest

from deskmate.core.brain.escalation import human_request, matched_topic, message_reasons, reasons
from deskmate.core.brain.sentiment import analyze
from deskmate.core.brain.settings import TRIGGERS, BrainSettings
from deskmate.core.domain import Author, Draft, EscalationReason, Hit, Message, Sentiment, Turn
from deskmate.testing import TEST_AI_ADMIN_ID, make_turn

ASKS_FOR_A_PERSON = {
    "en": [
        "I'd rather not go through a bot for this",
        "Can I talk to someone?",
        "Is there a real person I can speak with?",
        "I want to speak with an agent",
        "agent",
        "REPRESENTATIVE",
        "Human please!",
        "connect me to a representative",
        "put me through to support",
        "transfer me to customer service",
        "Let me talk to a human",
        "I'd like to speak to a manager",
        "I need a human",
        "get me a live agent now",
        "get me someone who can actually help",
        "can someone from your team call me",
        "are you a bot?",
        "please escalate this",
    ],
    "es": [
        "que alguien del equipo me contacte",
        "Quiero hablar con una persona",
        "¿Puedo hablar con un agente?",
        "necesito un asesor",
        "¿Me puede atender una persona?",
        "paso con un agente por favor",
    ],
    "fr": [
        "quelqu'un de votre équipe peut regarder ?",
        "Je voudrais parler à un conseiller",
        "Puis-je parler avec quelqu'un ?",
        "Mettez-moi en relation avec le service client",
        "je veux une vraie personne",
        "un agent s'il vous plaît",
    ],
    "de": [
        "kann sich bitte jemand aus Ihrem Team melden?",
        "Ich möchte mit einem Mitarbeiter sprechen",
        "ich kann mich nicht einloggen ich will mit einem Mitarbeiter sprechen",
        "Kann ich mit jemandem sprechen?",
        "Ich will einen echten Menschen",
        "kann ich einen Mitarbeiter sprechen?",
        "Bitte verbinden Sie mich mit einem Mitarbeiter",
    ],
    "pt": [
        "estou sem acesso quero falar com um atendente",
        "Quero falar com um atendente",
        "posso falar com uma pessoa?",
        "atendimento humano",
        "quero um atendente humano",
        "me transfere para um atendente",
        "alguém da equipe pode me ajudar?",
        "quero falar com alguém de carne e osso",
    ],
    "it": [
        "Vorrei parlare con un operatore",
        "posso parlare con qualcuno?",
        "assistenza umana",
        "mi passi un operatore",
        "c'è un operatore umano?",
        "mi fate contattare da qualcuno del vostro team?",
        "vorrei una persona in carne e ossa",
    ],
    "nl": [
        "Ik wil met een medewerker spreken",
        "kan ik iemand spreken?",
        "een echte persoon aub",
        "ik wil graag een mens spreken",
        "verbind me door met een medewerker",
        "kan iemand van jullie meekijken?",
        "liever met een mens dan met een bot",
    ],
    "ja": [
        "担当者と話したい",
        "オペレーターにつないでください",
        "人間と話したいです",
        "有人対応をお願いします",
        "スタッフに代わってください",
        "オペレーター",
    ],
}
NOT_A_REQUEST = [
    "I don't need a human, just tell me the price",
    "I do not want to speak with an agent",
    "I don’t want an agent, what are your opening hours?",  # noqa: RUF001
    "no need for an agent, thanks",
    "How do I reset my password?",
    "How do I add an agent to my workspace?",
    "How do I assign a conversation to an agent?",
    "The agent field in the export is empty",
    "I talked to my friend about it",
    "Our support team uses your app daily",
    "Which support plans do you offer?",
    "I need support for SSO",
    "The person field is empty",
    "No quiero hablar con una persona, solo quiero el precio",
    "Quiero hablar de mi factura",
    "Je n'ai pas besoin de parler à un conseiller",
    "Je veux parler de mon abonnement",
    "Ich muss nicht mit einem Mitarbeiter sprechen",
    "Ich möchte über meine Rechnung sprechen",
    "De medewerker kan niet inloggen",
    "友人と話しました",
    "オペレーターは不要です",
    "担当者の設定方法を教えてください",
]


@pytest.mark.parametrize(
    "text", [t for texts in ASKS_FOR_A_PERSON.values() for t in texts], ids=lambda t: t[:30]
)
def test_asking_for_a_person_is_recognised(text: str) -> None:
    assert human_request(text)


@pytest.mark.parametrize("text", NOT_A_REQUEST, ids=lambda t: t[:30])
def test_other_messages_and_negated_asks_are_not_requests(text: str) -> None:
    assert human_request(text) is None


def test_every_language_has_several_phrasings() -> None:
    assert set(ASKS_FOR_A_PERSON) == {"en", "es", "fr", "de", "pt", "it", "nl", "ja"}
    assert all(len(texts) >= 3 for texts in ASKS_FOR_A_PERSON.values())


HIT = Hit("refunds", "Refunds", "We refund within 30 days.", 3.0)
GOOD = Draft("We refund within 30 days.", 0.9, [HIT])
WEAK = Draft("We refund within 30 days.", 0.2, [HIT])
ALL_ON = BrainSettings(handoff_topics=("chargebacks, disputed payments", "legal threats"))


def codes(found: list) -> list[str]:
    return [r.code for r in found]


def off(trigger: str, base: BrainSettings = ALL_ON) -> BrainSettings:
    return BrainSettings(
        handoff_topics=base.handoff_topics,
        triggers=dict.fromkeys(TRIGGERS, True) | {trigger: False},
    )


def test_a_covered_calm_question_has_no_reason() -> None:
    assert reasons(make_turn("When do refunds arrive?"), GOOD, Sentiment("neutral"), ALL_ON) == []


@pytest.mark.parametrize(
    ("text", "draft", "sentiment", "code"),
    [
        ("Can I talk to a human?", GOOD, Sentiment("neutral"), "human_requested"),
        ("Refund??", GOOD, Sentiment("negative", -0.6, ("still_not",)), "frustration"),
        ("How do I fly to the moon?", None, Sentiment("neutral"), "no_knowledge"),
        ("When do refunds arrive?", WEAK, Sentiment("neutral"), "low_confidence"),
        ("I want to open a chargeback", GOOD, Sentiment("neutral"), "handoff_topic"),
    ],
)
def test_each_message_trigger_fires_and_its_switch_silences_it(
    text: str, draft: Draft | None, sentiment: Sentiment, code: str
) -> None:
    found = message_reasons(text, draft, sentiment, ALL_ON)
    assert code in codes(found)
    assert all(r.detail for r in found)
    assert code not in codes(message_reasons(text, draft, sentiment, off(code)))


def test_a_mildly_negative_tone_without_cues_is_not_frustration() -> None:
    found = message_reasons("Refunds?", GOOD, Sentiment("negative", -0.52), ALL_ON)
    assert "frustration" not in codes(found)


def test_an_uncited_confident_draft_from_another_plugin_does_not_escalate() -> None:
    assert message_reasons("Refunds?", Draft("Sure.", 0.8), Sentiment("neutral"), ALL_ON) == []
    low = message_reasons("Refunds?", Draft("Hmm.", 0.1), Sentiment("neutral"), ALL_ON)
    assert codes(low) == ["no_knowledge"]


def test_the_threshold_is_configurable() -> None:
    strict = BrainSettings(confidence_threshold=0.95)
    assert codes(message_reasons("Refunds?", GOOD, None, strict)) == ["low_confidence"]


def test_the_matched_topic_is_recorded() -> None:
    found = message_reasons("I will start a chargeback with my bank", GOOD, None, ALL_ON)
    topics = [r.detail for r in found if r.code == "handoff_topic"]
    assert topics == ["handoff topic: chargebacks, disputed payments"]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("My payment was disputed", "chargebacks, disputed payments"),
        ("this is a legal threat", "legal threats"),
        ("where is my parcel", None),
        ("", None),
    ],
)
def test_topics_match_on_the_words_of_any_alternative(text: str, topic: str | None) -> None:
    assert matched_topic(text, ALL_ON.handoff_topics, 0.6) == topic


def customer(part_id: str, text: str) -> Message:
    return Message(part_id, Author("user", "contact-1"), text)


def ai(part_id: str) -> Message:
    return Message(part_id, Author("admin", TEST_AI_ADMIN_ID), "Here is how.")


def test_the_same_question_again_is_a_loop() -> None:
    first = customer("1", "How can I change the billing email on my invoices?")
    again = customer("3", "how can i change the billing email on my invoice")
    turn = make_turn(messages=[first, ai("2"), again], latest=again)
    found = reasons(turn, GOOD, None, ALL_ON)
    assert codes(found) == ["loop"]
    assert "(1)" in found[0].detail
    assert reasons(turn, GOOD, None, off("loop")) == []


def test_a_different_question_or_small_talk_is_not_a_loop() -> None:
    first = customer("1", "How can I change the billing email on my invoices?")
    other = customer("3", "And how do I download last month's invoice?")
    assert reasons(make_turn(messages=[first, other], latest=other), GOOD, None, ALL_ON) == []
    thanks = [customer("1", "ok thanks"), ai("2"), customer("3", "ok thanks")]
    assert reasons(make_turn(messages=thanks, latest=thanks[-1]), GOOD, None, ALL_ON) == []


def test_a_question_sent_twice_before_any_answer_is_not_a_loop() -> None:
    burst = [customer("1", "Where is my order 5521?"), customer("2", "where is my order 5521")]
    assert reasons(make_turn(messages=burst, latest=burst[-1]), GOOD, None, ALL_ON) == []


def test_too_many_ai_replies_escalate() -> None:
    history = [m for i in range(5) for m in (customer(f"c{i}", f"question {i} text"), ai(f"a{i}"))]
    latest = customer("last", "and one more thing about exports")
    turn = make_turn(messages=[*history, latest], latest=latest)
    found = reasons(turn, GOOD, None, ALL_ON)
    assert codes(found) == ["max_turns"]
    assert "5 times" in found[0].detail
    assert reasons(turn, GOOD, None, BrainSettings(max_ai_turns=6)) == []
    assert reasons(turn, GOOD, None, off("max_turns")) == []


def test_reasons_combine_and_nothing_is_reported_without_a_message() -> None:
    turn = make_turn("This is ridiculous, let me talk to a human!")
    found = reasons(turn, None, Sentiment("negative", -0.7, ("strong_words",)), ALL_ON)
    assert codes(found) == ["human_requested", "frustration", "no_knowledge"]
    assert reasons(make_turn("", latest=None), None, None, ALL_ON) == []


@pytest.mark.parametrize(
    "text", ["", "😀😀😀", "<script>alert('agent')</script>" * 1000, "x" * 2_000_000]
)
def test_hostile_messages_are_handled(text: str) -> None:
    turn = make_turn(text)
    assert isinstance(reasons(turn, GOOD, None, ALL_ON), list)


@pytest.mark.parametrize(
    "text",
    [
        "chargeback please",
        "I will file a chargeback with my bank",
        "I want to dispute this charge",
        "quiero hacer un contracargo",
        "Ich mache eine Rückbuchung",
    ],
)
def test_a_chargeback_is_a_billing_dispute_not_a_threat_to_leave(text: str) -> None:
    mood = analyze(text, None)
    assert "threat_to_leave" not in mood.cues
    found = message_reasons(text, GOOD, mood, ALL_ON)
    assert "billing_dispute" in codes(found) and "frustration" not in codes(found)
    assert "billing_dispute" not in codes(message_reasons(text, GOOD, mood, off("billing_dispute")))


@pytest.mark.parametrize(
    "text",
    [
        "ordered last tuesday and the box still hasnt shown up. is there a way to track it?",
        "bonjour j'ai commandé mardi toujours rien reçu, ça met combien de temps normalement ?",
        "ich habe vor einer Woche bestellt und immer noch keine Lieferung, wie lange dauert das?",
    ],
)
def test_a_still_not_in_the_first_message_asks_how_things_stand(text: str) -> None:
    mood = analyze(text, None)
    assert mood.cues == ("still_not",)
    assert "frustration" not in codes(reasons(make_turn(text), GOOD, mood, ALL_ON))
    answered = after_answer("how long does shipping take?", "Delivery takes 3 to 5 days.", text)
    assert "frustration" in codes(reasons(answered, GOOD, mood, ALL_ON)), "the reply did not help"


def test_a_still_not_with_another_cue_in_the_first_message_is_frustration() -> None:
    text = "this is the third time i write, my order still hasnt arrived"
    mood = analyze(text, None)
    assert "still_not" in mood.cues and len(mood.cues) > 1
    assert "frustration" in codes(reasons(make_turn(text), GOOD, mood, ALL_ON))


@pytest.mark.parametrize(
    "text",
    [
        "merci mais est-ce que quelqu'un chez vous pourrait regarder ma commande directement ?",
        "kann jemand bei euch bitte nachsehen, wo mein Paket ist?",
        "could someone over there check my order before it ships?",
    ],
)
def test_someone_there_who_could_look_is_a_request_for_a_person(text: str) -> None:
    assert human_request(text) is not None


def test_a_strongly_negative_tone_in_a_question_answered_with_confidence_is_not_frustration() -> (
    None
):
    text = "budget got cut 😬 we need the cheaper one. do we lose the fancy stuff right away?"
    mood = analyze(text, "en")
    assert mood.label == "negative" and mood.cues == ()
    assert "frustration" not in codes(message_reasons(text, GOOD, mood, ALL_ON))
    assert "frustration" in codes(message_reasons(text, WEAK, mood, ALL_ON))


def after_answer(question: str, answer: str, text: str) -> Turn:
    """A turn whose latest message ``text`` follows the AI's ``answer`` to ``question``."""
    reply = Message("2", Author("admin", TEST_AI_ADMIN_ID), answer)
    latest = customer("3", text)
    return make_turn(messages=[customer("1", question), reply, latest], latest=latest)


def reasons_to_repeat(question: str, answer: str, text: str) -> list[EscalationReason]:
    """The reasons found when the draft for ``text`` would repeat the AI's ``answer``."""
    turn = after_answer(question, answer, text)
    return reasons(turn, Draft(answer, 0.9, GOOD.citations), None, ALL_ON)


REFUND_ANSWER = "You can ask for a refund within 30 days. Refunds reach your card in 5 to 10 days."


def test_a_question_asked_again_with_the_same_answer_is_a_loop_on_its_second_ask() -> None:
    answer = "Open Settings and choose Security. Click Reset password."
    again = "I asked how I can reset my password for the app"
    turn = after_answer("How do I reset my password?", answer, again)
    same = Draft(answer, 0.9, GOOD.citations)
    found = reasons(turn, same, None, ALL_ON)
    assert codes(found) == ["loop"] and "(2)" in found[0].detail
    different = Draft("The app has its own reset screen under Profile.", 0.9, GOOD.citations)
    assert reasons(turn, different, None, ALL_ON) == []


def test_a_new_question_the_same_article_answers_is_not_a_loop() -> None:
    answer = "Choose Forgot password. The reset link works for 30 minutes."
    same = Draft(answer, 0.9, GOOD.citations)
    new = after_answer("I forgot my password", answer, "how many minutes is the link valid?")
    assert reasons(new, same, None, ALL_ON) == []
    still = after_answer("I forgot my password", answer, "I still cannot get in, nothing works")
    assert codes(reasons(still, same, None, ALL_ON)) == ["loop"]


@pytest.mark.parametrize(
    "text",
    [
        "hab ich gemacht, trotzdem wurde wieder der alte Preis abgebucht. ich will den Tarif",
        "já exportei duas vezes e o email nunca chega. preciso exportar meus dados hoje",
        "tried it, the link doesn't work. how do I change my password?",
    ],
)
def test_saying_the_answer_did_not_work_is_a_loop_however_it_is_put(text: str) -> None:
    answer = "Go to Settings and pick a new plan. We email you the archive."
    assert codes(reasons_to_repeat("how do I change my plan?", answer, text)) == ["loop"]


@pytest.mark.parametrize(
    "text",
    [
        "im not asking about the policy tho. there are 2 payments of 49 on my card",
        "ya sé lo de los 30 días, no pregunté eso. son dos cobros de 29 € el mismo día",
        "oui j'ai bien lu pour le délai. là ça fait 15 jours ouvrés",
        "heb ik al gelezen. het geld staat nog altijd niet op mijn kaart",
        "ja dat weet ik, dat stond er vorige week ook al. het is nu twee weken verder",
    ],
)
def test_saying_the_answer_is_not_what_was_asked_or_was_already_read_is_a_loop(text: str) -> None:
    assert codes(reasons_to_repeat("got charged twice this month", REFUND_ANSWER, text)) == ["loop"]


@pytest.mark.parametrize(
    "text",
    [
        "you said that refunds reach my card in 5 to 10 days - is that business days?",
        "hab ich gelesen, gilt das auch für Jahrespläne?",
        "ja li, e para planos anuais?",
        "dat weet ik, maar geldt dat ook voor jaarplannen?",
    ],
)
def test_a_question_about_the_answer_read_is_not_a_loop(text: str) -> None:
    assert reasons_to_repeat("got charged twice this month", REFUND_ANSWER, text) == []


PASSWORD_ANSWER = "Choose Forgot password. We email you a reset link that works for 30 minutes."
SPAM_ADVICE = Draft("No email? Check your spam folder, then ask us to resend it.", 0.9)


def reasons_for_next_step(text: str) -> list[EscalationReason]:
    """The reasons found for ``text`` after the password answer, the next draft being the spam
    folder advice (not a repeat of the answer)."""
    turn = after_answer("I forgot my password", PASSWORD_ANSWER, text)
    return reasons(turn, SPAM_ADVICE, None, ALL_ON)


@pytest.mark.parametrize(
    "text",
    [
        "fatto ma la mail non arriva, sto aspettando da 10 minuti",
        "j'ai cliqué mais j'ai rien reçu dans mon courriel",
        "ya lo pedí pero no me llega ningún correo",
    ],
)
def test_an_email_not_come_yet_after_an_answer_gets_the_next_step(text: str) -> None:
    assert reasons_for_next_step(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "fatto due volte, la mail non arriva, neanche nello spam",
        "ya lo pedí tres veces y no me llega nada, ya miré en spam",
        "tried that, the link doesn't work even though i clicked it right away",
    ],
)
def test_an_answer_that_failed_is_a_loop_even_when_the_next_draft_is_new(text: str) -> None:
    found = reasons_for_next_step(text)
    assert "loop" in codes(found)
    assert "did not help" in next(r.detail for r in found if r.code == "loop")


@pytest.mark.parametrize(
    "text",
    [
        "tried that, still didn't get the refund",
        "la mail non arriva, ho già guardato nello spam",
    ],
)
def test_a_refund_not_come_or_a_checked_spam_folder_after_an_answer_is_a_loop(text: str) -> None:
    assert "loop" in codes(reasons_for_next_step(text))


@pytest.mark.parametrize(
    "text",
    [
        "un po' deluso dalle funzioni, posso passare al piano pro?",
        "Every single time I open the app it asks me to log in. Is there a remember-me option?",
    ],
)
def test_annoyance_in_a_question_answered_with_confidence_is_a_question(text: str) -> None:
    mood = analyze(text, None)
    assert mood.cues == ("displeasure",)
    assert "frustration" not in codes(message_reasons(text, GOOD, mood, ALL_ON))
    assert "frustration" in codes(message_reasons(text, WEAK, mood, ALL_ON))


def test_annoyance_in_a_report_is_frustration_however_confident_the_draft() -> None:
    text = "the reset link says expired every single time. locked out since monday"
    mood = analyze(text, None)
    assert "frustration" in codes(message_reasons(text, GOOD, mood, ALL_ON))


def test_a_failure_only_supposed_is_a_follow_up_question() -> None:
    answer = "We email you a reset link. No email? Check your spam folder."
    assert reasons_to_repeat("I forgot my password", answer, "y si no me llega el correo?") == []


def test_a_follow_up_answered_from_the_same_passage_is_not_a_loop() -> None:
    answer = "Refunds reach your card in 5 to 10 business days."
    first = customer("1", "How do I get a refund?")
    follow = customer("3", "and how long does that take?")
    turn = make_turn(messages=[first, ai("2"), follow], latest=follow)
    turn.messages[1] = Message("2", Author("admin", TEST_AI_ADMIN_ID), answer)
    assert reasons(turn, Draft(answer, 0.9, GOOD.citations), None, ALL_ON) == []


@pytest.mark.parametrize(
    "text",
    [
        "can someone call me",
        "get me a manager",
        "is anyone there?",
        "can I get a callback",
        "stop the bot",
        "i dont want to talk to a bot",
        "bot is useless, human please",
        "how can i reach your support team by phone",
        "kann mich jemand anrufen",
        "kan ik iemand bellen",
        "rappelez-moi svp",
        "que me llamen",
    ],
)
def test_callbacks_and_refusing_the_bot_are_requests_for_a_person(text: str) -> None:
    assert human_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "can I call the API from python",
        "my phone number changed, how do I update it",
        "what does the AI do with my data",
        "is anyone else having this problem",
    ],
)
def test_calls_phones_and_ai_in_other_senses_are_not_requests(text: str) -> None:
    assert human_request(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "could somebody at customer service check my order",
        "anyone from the team around?",
        "i'd prefer to deal with an actual human",
        "me pasas con una persona?",
    ],
)
def test_asking_for_someone_from_the_team_or_to_deal_with_a_person_is_a_request(
    text: str,
) -> None:
    assert human_request(text)
