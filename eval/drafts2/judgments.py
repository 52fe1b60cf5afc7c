"""Held-out set 2: judgments for the blind-written queries (phase 2).
Run: python judgments.py /tmp/heldout2_chunks.jsonl   (output of `kb chunks --json`)
Prints, for each key phrase, the passages it occurs in; with --write, writes the final files."""
import json, re, sys, unicodedata
from pathlib import Path

C = "communagir-cadre-de-reference"; H = "chantiers-partenariaux-coconstruction-2017"
F = "fiche-atelier-cadres-strategiques-municipaux"; R = "roles-acteurs-developpement-communautes-2015"
P = "communagir-portfolio-municipal-2024"

# id -> (doc, [key phrases], [expected chunk indices])  ; None -> dropped
J = {
 # paraphrase
 "q201": (H, ["trouver l'équilibre entre la réflexion et l'action", "permettant de passer aux choses concrètes", "précision des cibles a ensuite mené à la réalisation", "il faut également savoir conclure"], [8, 31, 32]),
 "q202": (R, ["renforcer la mobilisation autour d'enjeux communs par un partenariat renouvelé", "capacité à mobiliser leurs partenaires et les citoyens", "villes et municipalités comme acteurs de proximité"], [95, 126, 132]),
 "q203": (H, ["l'organisation porteuse, le bailleur de fonds", "offert la souplesse nécessaire pour permettre au processus"], [18, 23]),
 "q204": (F, ["se faire des alliés dans chacun des services", "meilleure appropriation des équipes municipales", "former l'ensemble des employés municipaux", "la formation de l'équipe ville fut une opportunité"], [85, 87, 89, 92]),
 "q205": (H, ["démystifier l'évaluation et soutenir les démarches collectives", "naviguer dans l'univers de l'évaluation utile", "pour qu'une évaluation soit utile et fasse progresser"], [4, 49, 50]),
 "q206": (F, ["profiter de ce qui existe déjà, aller là où les gens sont", "rejoindre les personnes seules et isolées"], [89, 91]),
 "q207": (H, ["la qualité de l'accompagnement offert pour soutenir", "au bout de cette expérience sans ressource de coordination"], [21, 22]),
 "q208": (H, ["leadership de processus collectif et de contenus", "place à l'initiative et à la prise de décision collective", "présence d'un leadership habile et reconnu"], [11, 21, 22]),
 "q209": (R, ["organisateurs communautaires et travailleurs communautaires en clsc", "exercent la profession d'organisateur communautaire", "réseau de la santé et des services sociaux qui aura été l'instigateur"], [95, 123]),
 "q210": (F, ["auparavant dispersés, pour former un tout", "dépasse la simple intégration dans un même document", "documents-cadres conjoints émergence d'une nouvelle synergie", "le caractère parapluie de notre politique"], [82, 83, 84, 88]),
 "q211": (H, ["résumer la coconstruction au fait de construire ensemble", "la co-construction se définit comme un processus volontaire"], [0, 6]),
 "q212": (R, ["place incontournable qu'occupe le mouvement communautaire", "reconnaissance du mouvement communautaire comme acteur", "regroupement des organismes communautaires sur la base", "ont comme objectif le développement d'une communauté"], [100, 115, 129, 130]),
 # english
 "q213": (P, ["la gouvernance partagée, en tant que structure facilitant", "dont la gouvernance se veut participative", "l'appropriation du cadre de gouvernance participative", "un mécanisme de collaboration permettant"], [60, 72, 73, 77]),
 "q214": (R, ["réseau de la santé et des services sociaux qui aura été l'instigateur", "la mission de l'inspq est de soutenir", "activités associées à la mobilisation et au développement des communautés"], [95, 120, 121]),
 "q215": (R, ["soutien financier qui s'appuie sur une stratégie", "soutien financier aux initiatives liées à la réussite", "partenariats du gouvernement du québec avec la fondation lucie et andré chagnon", "par le soutien à la mobilisation des communautés locales"], [95, 100, 112, 119]),
 "q216": (F, ["les grandes idées à retenir", "un arrimage des politiques sociales prend tout son sens", "conseils, trucs et astuces pour se mettre en action", "réaliser la démarche par étapes"], [82, 83, 91, 92]),
 "q217": (H, ["démystifier l'évaluation et soutenir les démarches collectives", "naviguer dans l'univers de l'évaluation utile", "un sondage sur les pratiques d'évaluation a été rempli"], [4, 49, 50]),
 "q218": (H, ["pour susciter et maintenir l'engagement", "le susciter et le maintenir dans le temps", "maintenir une masse critique de membres", "maintien de l'engagement des membres"], [4, 16, 22, 43]),
 "q219": (F, ["la participation citoyenne est un moyen essentiel", "politique de participation citoyenne a établi", "budget participatif adulte et jeunesse", "près de 20 consultations citoyennes"], [82, 84, 86, 91]),
 "q220": (C, ["comment renforçons-nous la capacité des acteurs", "exemples de besoins et de réponses"], [54, 55]),
 "q221": (P, ["coconstruction de politiques et d'initiatives", "la coconstruction des priorités incluses"], [64, 78]),
 "q222": (F, ["briser les silos des directions", "se faire des alliés dans chacun des services", "amélioration de la cohésion de l'action municipale", "opportunité d'échange importante et de cohésion"], [84, 89, 91, 92]),
 "q223": (H, ["un leadership de processus collectif et de contenus", "un leadership de processus et de contenus"], [21, 22]),
 "q224": (H, ["sont des espaces de coconstruction animés par communagir", "les membres provenaient de partout au québec"], [2, 7]),
 # question
 "q225": (R, ["villes et municipalités comme acteurs de proximité"], [95]),
 "q226": (H, ["les membres des chantiers sont identifiés en fonction", "voici brièvement présentées les conditions", "mettre en lumière les différentes étapes du processus", "les membres des chantiers ont été sélectionnés"], [2, 8, 10, 12]),
 "q227": (P, ["dans une perspective de renforcement de leur pouvoir d'agir"], [58]),
 "q228": None,
 "q229": (F, ["obstacles: pandémie covid-19, manque d'espaces de discussion", "tenter de travailler en dehors des sentiers battus", "obstacles: craintes de ne plus répondre"], [89, 90]),
 "q230": (H, ["suspension temporaire des rapports de forces", "responsabilités partagées par l'ensemble des membres", "la formule des chantiers a laissé place à l'autonomie"], [11, 14, 15]),
 "q231": (R, ["le lien de collaboration est de nature ponctuelle", "les liens de partenariat sont structurants"], [100, 101]),
 "q232": (P, ["la mrc des chenaux s'est engagée à soutenir", "par l'entremise de son comité de développement social", "s'est dotée d'un plan d'action territorial collectif", "palier local (municipalité) que supra-local (mrc)"], [66, 68, 72, 77]),
 # typo
 "q233": (R, ["acteurs locaux travaillant à la mobilisation des collectivités", "capacité à se mobiliser pour imaginer et bâtir", "mobiliser et concerter les différents intervenants"], [117, 118, 131]),
 "q234": (R, ["le développement social a toujours été présent dans les services", "villes et municipalités comme acteurs de proximité", "l'engagement des décideurs municipaux en faveur de la qualité de vie"], [95, 126, 132]),
 "q235": (P, ["la gouvernance partagée, en tant que structure facilitant", "compréhension partagée des fondements d'une gouvernance partagée", "dont la gouvernance se veut participative", "l'appropriation du cadre de gouvernance participative"], [60, 61, 72, 73]),
 "q236": (P, ["politique de développement social de la ville de lévis", "en amont des choix qui ont mené à la rédaction", "arrimage des plans et politiques en développement social"], [66, 78, 79]),
 "q237": (R, ["investir une partie de leurs avoirs dans le secteur de la philanthropie", "la mission de la fondation lucie et andré chagnon est de prévenir", "partenariats du gouvernement du québec avec la fondation lucie et andré chagnon"], [95, 118, 119]),
 "q238": (H, ["pour qu'une évaluation soit utile et fasse progresser", "démystifier l'évaluation et soutenir les démarches collectives", "naviguer dans l'univers de l'évaluation utile"], [4, 49, 50]),
 "q239": (H, ["la coconstruction est un processus qui rassemble", "la co-construction se définit comme", "sont des espaces de coconstruction animés par communagir", "la coconstruction est possible dans un climat de confiance"], [0, 2, 6, 11]),
 "q240": (R, ["réseau de la santé et des services sociaux qui aura été l'instigateur", "la mission de l'inspq est de soutenir", "activités associées à la mobilisation et au développement des communautés"], [95, 120, 121]),
 # keyword
 "q241": (H, ["un leadership de processus collectif et de contenus", "un leadership de processus et de contenus", "le leadership de communagir a favorisé"], [21, 22]),
 "q242": (F, ["démarches de cadres stratégiques innovantes", "rassembler plusieurs éléments, auparavant dispersés", "le cadre est devenu la référence", "utilisation systématique du cadre des politiques sociales"], [82, 85, 89]),
 "q243": (R, ["animer une concertation inter et multisectorielle visant"], [131]),
 "q244": (R, ["développement de la capacité d'agir des individus et des collectivités", "collectivités du québec soient en mesure de réaliser les changements", "développement de leur capacité à se mobiliser"], [116, 117, 121]),
 "q245": (R, ["le mouvement communautaire autonome dans le développement local", "projet de regroupement des organismes communautaires", "les organismes communautaires d'autres communautés ont souhaité se regrouper"], [129, 130]),
 "q246": (H, ["le fruit de nos apprentissages", "certains partenaires ont exprimé que les chantiers avaient eu", "apprentissages faits sur le processus de coconstruction", "processus de mise en commun des savoirs"], [5, 33, 34, 35]),
 # fact
 "q247": (R, ["communagir est né en 2011"], [116]),
 "q248": (F, ["nom des personnes qui ont présenté", "nom des organisations • municipalité de petit-saguenay"], [81, 82]),
 "q249": (H, ["nous avons démarré quatre chantiers partenariaux", "les quatre chantiers partenariaux ont axé"], [4, 28]),
 "q250": (P, ["mandataire : mrc de beauharnois"], [77]),
 "q251": (H, ["production : communagir coordination et rédaction", "nous avons souhaité réaliser un bilan de l'expérience"], [1, 5]),
 "q252": None,
}
DROPPED = {
 "q228": "no passage says who should lead a community-development démarche; only indirect hints (communities « qui se prennent en main », Communagir's process leadership inside its own chantiers)",
 "q252": "the number of mandates (eleven) is stated only in the corpus README, not in any passage of the portfolio",
}
M = {
 "m201": ["chapdelaine", "beauharnois"],
 "m202": ["chapdelaine", "joliette", "lévis"],
 "m203": ["lévis", "ahuntsic", "chapdelaine"],
 "m204": ["matanie"],
 "m205": ["chapdelaine", "ahuntsic"],
 "m206": ["beauharnois", "chapdelaine", "matanie"],
 "m207": ["ahuntsic", "chenaux"],
 "m208": ["lévis", "joliette"],
 "m209": ["rues principales", "montréal"],
 "m210": ["coeur villageois", "beauharnois"],
 "m211": ["chenaux", "coeur villageois", "ahuntsic"],
 "m212": ["beauharnois", "lévis"],
 "m213": ["coeur villageois", "chapdelaine", "montréal"],
 "m214": None,
 "m215": ["joliette", "chenaux", "rues principales"],
 "m216": ["beauharnois", "lanaudière", "chapdelaine"],
}
MDROPPED = {
 "m214": "no mandate is about healthy lifestyles (« saines habitudes de vie » appears only in the workshop sheet, Victoriaville), and no mandate is a fair process analogue",
}

_Q = str.maketrans({"’": "'", "‘": "'", "«": '"', "»": '"', "“": '"', "”": '"'})
def norm(t):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", t).lower().translate(_Q)).strip()

if __name__ == "__main__":
    here = Path(__file__).parent
    chunks = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
    texts = [(i, c["path"][:-4], norm(c["text"])) for i, c in enumerate(chunks)]
    blind = {}
    for l in open(here / "queries-written-blind.jsonl", encoding="utf-8"):
        r = json.loads(l); blind[r["id"]] = r
    ok = True
    for qid, j in J.items():
        if j is None:
            print(qid, "DROPPED"); continue
        doc, phrases, expected = j
        print(f"{qid} [{blind[qid]['kind']}] {blind[qid]['query']}  -> {doc[:8]} (blind target {blind[qid]['target'][:8]})")
        covered = set()
        for p in phrases:
            n = len(p.split())
            hits = [i for i, d, t in texts if d == doc and norm(p) in t]
            other = [(i, d[:5]) for i, d, t in texts if d != doc and norm(p) in t]
            bad = [i for i in hits if i not in expected]
            covered |= set(hits)
            flag = ("  <<< NONE" if not hits else "") + (f"  <<< UNEXPECTED {bad}" if bad else "")
            print(f"    {p!r} ({n}w): {hits} other-docs={other}{flag}")
            if not hits or bad: ok = False
        miss = set(expected) - covered
        if miss: print(f"    <<< expected passages not covered: {sorted(miss)}"); ok = False
    mand = {m["id"]: m for m in json.load(open(sys.argv[2]))["mandates"]} if len(sys.argv) > 2 and sys.argv[2] != "--write" else None
    if mand:
        for mid, exp in M.items():
            if exp is None: print(mid, "DROPPED"); continue
            print(mid, blind[mid]["query"])
            for e in exp:
                m = [k for k, v in mand.items() if norm(e) in norm(v["client"]) or norm(e) in norm(v["title"])]
                print(f"    {e!r}: {m}")
                if len(m) != 1: ok = False
    print("ALL OK" if ok else "PROBLEMS")
    if "--write" in sys.argv and ok:
        ev = here.parent
        with open(ev / "heldout2_search.jsonl", "w", encoding="utf-8") as f:
            for qid, j in J.items():
                if j is None: continue
                b = blind[qid]
                f.write(json.dumps({"id": qid, "kind": b["kind"], "query": b["query"], "doc": j[0], "any": j[1]}, ensure_ascii=False) + "\n")
        with open(ev / "heldout2_mandates.jsonl", "w", encoding="utf-8") as f:
            for mid, e in M.items():
                if e is None: continue
                b = blind[mid]
                f.write(json.dumps({"id": mid, "kind": b["kind"], "query": b["query"], "expect": e}, ensure_ascii=False) + "\n")
        with open(here / "dropped.jsonl", "w", encoding="utf-8") as f:
            for d in (DROPPED, MDROPPED):
                for qid, why in d.items():
                    f.write(json.dumps({"id": qid, "kind": blind[qid]["kind"], "query": blind[qid]["query"], "reason": why}, ensure_ascii=False) + "\n")
        print("written")
