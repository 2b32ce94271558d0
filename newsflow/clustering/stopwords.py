"""Short lists of the most frequent function words of a few European languages.

A light aid only: inverse document frequency already pushes frequent words down once the
window holds a few hundred articles; these lists keep the first articles of a fresh window
(and any language not listed) from linking on "the" and "der". Tokens are case-folded.
"""

from __future__ import annotations

_LISTS = {
    "en": """a about after again against all also an and any are as at be because been before
        being but by can could did do does during each for from had has have he her here him his
        how i if in into is it its just like may me more most my new no not now of on one only or
        other our out over said says say she should so some such than that the their them then
        there these they this those through to too under up us very was we were what when where
        which while who why will with would you your""",
    "de": """aber alle als am an auch auf aus bei bin bis bist da damit dann das dass dem den der
        des die dies diese dieser doch dort du durch ein eine einem einen einer eines er es für
        hat hatte haben ich ihr im in ist ja jetzt kann kein man mehr mit muss nach nicht noch
        nun nur ob oder sein seine sich sie sind so über um und uns unter vom von vor war waren
        was wenn werden wie wieder wir wird wurde wurden zu zum zur""",
    "fr": """au aux avec ce ces cette dans de des du elle en est et été être il ils je la le les
        leur lui mais me même mes ne nous on ont ou où par pas plus pour qu que qui sa sans se
        ses son sont sur ta te tes ton tu un une vos votre vous était avait fait comme aussi""",
    "es": """a al como con de del el ella ellos en es esta este fue ha han la las le lo los más
        no para pero por que se ser sin sobre su sus también un una uno y ya está son""",
    "it": """a al alla anche che chi con da dal dalla degli dei del della di e gli ha hanno il in
        la le lo ma nel nella non per più si sono su sua suo tra un una uno è""",
    "pt": """a ao aos as com da das de do dos e é em foi mais mas na nas no nos o os para pela
        pelo por que se sem ser seu sua são também um uma""",
    "nl": """aan al als bij dan dat de die dit door een en er had heeft het hij in is je met na
        naar niet nog of om ook op over te tot uit van voor was wat werd wordt ze zich zijn""",
}

STOPWORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split()) for language, words in _LISTS.items()
}


def listed_language(language: str | None) -> str | None:
    """The code of `language` ("de-AT" -> "de") when it has a stop list, else None."""
    if not language:
        return None
    code = language.split("-")[0].lower()
    return code if code in STOPWORDS else None


def guess_language(tokens: list[str]) -> str | None:
    """The listed language whose stop words are most often among the distinct case-folded
    `tokens` (one language per text: "war" is a stopword only in German); None when no list
    matches."""
    best: str | None = None
    best_hits = 0
    distinct = set(tokens)
    for code, words in STOPWORDS.items():
        hits = len(words & distinct)
        if hits > best_hits:
            best, best_hits = code, hits
    return best
