"""Text generation for the fixture forum: French leak chatter, decoys and benign talk.

The leak vocabulary is what the rules issue matches on: valid NIRs in the spellings
seen in the wild (spaces, dots, dashes, "clé"), French medical-lab networks,
lab-information-system vendors, health fields and sale vocabulary. Decoys (phone
numbers, SIRET, IBAN, 15-digit numbers with a wrong key) are there to catch false
positives. Everything is drawn from the caller's seeded ``random.Random``.
"""

from __future__ import annotations

import html
import re
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

    from darkwatch_lab.forum_content import ForumContent

_WS = re.compile(r"\s+")

LABS = ["Biogroup", "Cerballiance", "Eurofins Biomnis", "Synlab", "Inovie", "Unilabs", "Laborizon",
        "Cerba", "Bioclinic", "Novescia"]
VENDORS = ["Dedalus", "Medasys", "Technidata", "Inlog", "CliniSys", "Netika", "Mips"]
HEALTH = ["groupe sanguin", "mutuelle", "médecin traitant", "carte vitale", "numéro de sécu",
          "résultats d'analyses", "date de naissance"]
SALE = ["fichier patients", "base de données", "dump", "fullz", "combo", "extraction SQL", "export CSV"]
CITIES = ["Lyon", "Marseille", "Lille", "Toulouse", "Nantes", "Bordeaux", "Ajaccio", "Rennes", "Nice"]

USERNAMES = ["d4rkL4b", "zer0day_fr", "Mistral", "l'Ombre", "Kaïros", "n0b0dy", "bl4ckm4rket",
             "Vendetta75", "pharmaGhost", "r00t&co", "Sable_Noir", "Cassandre", "xXcrypt0Xx",
             "petit_rat", "Le_Fourbe", "data_broker"]
SIGNATURES = [
    "PGP : 0x7F3A 91C2 — escrow only, pas de MP.",
    "Trust nobody. Vérifiez toujours les échantillons.",
    "Jabber: shadow@xmpp.invalid | Tox uniquement",
    "« Le silence est d'or » — vendeur vérifié depuis 2021",
    "Tips BTC: bc1qlabxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "Ne répondez pas aux MP des scammeurs <3",
]

BENIGN = [
    "Quelqu'un a un bon tuto pour configurer Tor avec des bridges obfs4 ?",
    "Le marché est calme en ce moment, beaucoup de scams sur les autres forums.",
    "Utilisez toujours l'escrow & vérifiez la réputation du vendeur.",
    "Je confirme, transaction OK avec lui, livraison rapide.",
    "Merci pour le partage, très utile.",
    "Quelqu'un sait pourquoi le site était down hier soir ?",
    "Pensez à changer vos mots de passe, un autre forum a été saisi.",
    "Mon VPN a lâché pendant la session, je passe sur Tails désormais.",
    "Any english speakers here? Looking for a reliable escrow service.",
    "Les modos peuvent-ils fermer ce sujet ? C'est du spam.",
    "+1, même expérience. Le vendeur ne répond plus depuis une semaine.",
    "C'est quoi la différence entre un combo et des fullz exactement ?",
    "Prix en XMR uniquement, BTC c'est trop traçable.",
    "Ce sujet est une arnaque, l'échantillon était bidon.",
]
REPLIES = [
    "Intéressé, je t'envoie un MP.",
    "Prix ? Tu acceptes l'escrow du forum ?",
    "L'échantillon a l'air légit, les clés NIR sont bonnes.",
    "Déjà vu ce fichier sur un autre forum il y a deux mois, c'est du recyclé.",
    "Ça date de quand l'extraction ?",
    "Up ! Toujours dispo ?",
    "Vendu, merci de fermer le sujet.",
]

NIR_LIKE = re.compile(
    r"\b[12][\s.\-]?\d{2}[\s.\-]?\d{2}[\s.\-]?(?:\d{2}|2[AB])[\s.\-]?\d{3}[\s.\-]?\d{3}"
    r"(?:[\s.\-]?(?:cl[ée]\s*:?\s*)?\d{2})\b"
)


def collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


def nir_key(first13: str) -> int:
    """NIR key: 97 - (13 digits mod 97), with Corsica's 2A/2B read as 19/18."""
    digits = first13.upper().replace("2A", "19").replace("2B", "18")
    return 97 - int(digits) % 97


def nir_valid(nir15: str) -> bool:
    return len(nir15) == 15 and nir_key(nir15[:13]) == int(nir15[13:])


def normalise_nir(raw: str) -> str | None:
    s = re.sub(r"cl[ée]\s*:?", "", raw, flags=re.IGNORECASE)
    s = re.sub(r"[\s.\-]", "", s).upper()
    return s if len(s) == 15 else None


def make_nir(rng: random.Random, valid: bool = True) -> str:
    """A 15-character NIR (13 digits/2A/2B + 2-digit key), valid or with a wrong key."""
    dept = rng.choice(["75", "69", "13", "59", "31", "44", "33", "2A", "2B", "06", "35", "92"])
    body = f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{dept}" \
           f"{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
    key = nir_key(body)
    if not valid:
        key = (key + rng.randint(1, 95)) % 97 or 96
        if key == nir_key(body):
            key = key % 96 + 1
    return f"{body}{key:02d}"


def format_nir(rng: random.Random, nir: str) -> str:
    parts = [nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13]]
    style = rng.randint(0, 4)
    if style == 0:
        return nir
    if style == 1:
        return " ".join(parts) + " " + nir[13:]
    if style == 2:
        return ".".join(parts) + "." + nir[13:]
    if style == 3:
        return "-".join(parts) + "-" + nir[13:]
    return " ".join(parts) + " clé " + nir[13:]


def _phone(rng: random.Random) -> str:
    d = [f"{rng.randint(0, 99):02d}" for _ in range(4)]
    return rng.choice([f"06 {' '.join(d)}", f"+33 7 {' '.join(d)}", f"01.{'.'.join(d)}"])


def _siret(rng: random.Random) -> str:
    base = [rng.randint(0, 9) for _ in range(13)]
    for last in range(10):
        digits = base + [last]
        total = 0
        for i, dgt in enumerate(reversed(digits)):
            v = dgt * 2 if i % 2 else dgt
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            s = "".join(map(str, digits))
            return f"{s[:3]} {s[3:6]} {s[6:9]} {s[9:]}"
    return "".join(map(str, base)) + "0"


def _iban(rng: random.Random) -> str:
    bban = "".join(str(rng.randint(0, 9)) for _ in range(23))
    check = 98 - int(bban + "152700") % 97  # "FR00" -> 1527 00
    raw = f"FR{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def title(rng: random.Random, topic: str, kind: str) -> str:
    if topic == "rules":
        return rng.choice(["[ANNONCE] Règles du forum — à lire", "[ANNONCE] Escrow & litiges"])
    if topic == "escrow":
        return "[POST-IT] Liste des vendeurs vérifiés"
    if topic == "leak":
        lab, what = rng.choice(LABS), rng.choice(SALE)
        return rng.choice([
            f"[VENTE] {what} {lab} {rng.randint(2019, 2024)} — {rng.randint(2, 90)}k lignes",
            f"{lab} : {what} complet (NIR + {rng.choice(HEALTH)})",
            f"Leak labo {rng.choice(CITIES)} via {rng.choice(VENDORS)} — échantillon gratuit",
            f"[WTB] Cherche {what} santé, patients FR",
        ])
    return rng.choice([
        "Question OPSEC débutant", "Avis sur les nouveaux markets ?", "Tor vs VPN, le débat",
        f"Meetup virtuel {rng.choice(CITIES)}", "Problème de connexion au forum", "Scam alert <3 lire",
        "R&D : outils de scraping", "Présentation — nouveau membre", "Quel wallet XMR ?",
    ]) + f" #{rng.randint(2, 999)}"


def body(rng: random.Random, topic: str, content: ForumContent) -> list[str]:
    """Paragraphs of one post; NIRs and decoys used are recorded on ``content``."""
    if topic == "rules":
        return ["Bienvenue. Pas de doxxing de membres, pas de CP, escrow obligatoire au-delà de 200 €.",
                "Tout échantillon doit être caviardé à moitié. Les modos bannissent sans préavis."]
    if topic == "escrow":
        return ["Vendeurs vérifiés : d4rkL4b, data_broker, Sable_Noir.",
                "Signalez les litiges en MP à m0d_Lutece."]
    if topic == "reply":
        paras = [rng.choice(REPLIES)]
        if rng.random() < 0.3:
            paras.append(_decoy(rng, content))
        return paras
    if topic == "benign":
        paras = [rng.choice(BENIGN)]
        if rng.random() < 0.4:
            paras.append(rng.choice(BENIGN))
        if rng.random() < 0.35:
            paras.append(_decoy(rng, content))
        return paras
    lab, vendor = rng.choice(LABS), rng.choice(VENDORS)
    fields = ", ".join(rng.sample(HEALTH, 3))
    paras = [
        f"Vends {rng.choice(SALE)} {lab} ({rng.choice(CITIES)}), extraction depuis le SIL {vendor}.",
        f"Champs : nom, prénom, NIR, {fields}. Format CSV, {rng.randint(3, 120)}k lignes.",
    ]
    sample = []
    for _ in range(rng.randint(1, 3)):
        nir = make_nir(rng)
        content.nirs.add(nir)
        sample.append(format_nir(rng, nir))
    paras.append("Échantillon : " + " ; ".join(sample))
    if rng.random() < 0.5:
        paras.append(f"Prix {rng.randint(1, 30) * 100} € en XMR, escrow accepté. Contact Tox.")
    if rng.random() < 0.5:
        paras.append(_decoy(rng, content))
    return paras


def _decoy(rng: random.Random, content: ForumContent) -> str:
    kind = rng.randint(0, 4)
    if kind == 0:
        return f"Joignable au {_phone(rng)} (pas de SMS)."
    if kind == 1:
        return f"Société écran SIRET {_siret(rng)}, facture possible."
    if kind == 2:
        return f"Virement sur {_iban(rng)} refusé, XMR only."
    if kind == 3:
        bad = make_nir(rng, valid=False)
        content.decoys.add(bad)
        return f"Numéro de commande {bad} (pas un NIR, clé fausse)."
    return f"Ticket #{rng.randint(10**15, 10**16 - 1)} ouvert chez le support."


def excerpt(text: str) -> str:
    words = text.split()
    return " ".join(words[:14])


PHPBB_INLINE = ('<strong class="text-strong">{}</strong>', '<em class="text-italics">{}</em>')
MYBB_INLINE = ('<span style="font-weight: bold;" class="mycode_b">{}</span>',
               '<span style="font-style: italic;" class="mycode_i">{}</span>')


def inline_html(text: str, tags: tuple[str, str] = PHPBB_INLINE) -> str:
    """Escaped paragraph with deterministic inline emphasis on one whole word.

    Inline tags never add or remove whitespace, so the visible text stays ``text``.
    ``tags`` are the engine's (bold, italic) wrappers.
    """
    words = text.split(" ")
    h = zlib.crc32(text.encode())
    out = [html.escape(w, quote=False) for w in words]
    if len(words) > 3 and h % 3:
        i = h % len(words)
        if words[i]:
            out[i] = tags[h % 2].format(out[i])
    return " ".join(out)
