"""Judgments for the blind-written queries (step 2). Run to print, for every key
phrase, the passages (chunk index, doc) it occurs in, for manual checking."""
import json, re, sys, unicodedata
from pathlib import Path

C = "communagir-cadre-de-reference"; H = "chantiers-partenariaux-coconstruction-2017"
F = "fiche-atelier-cadres-strategiques-municipaux"; R = "roles-acteurs-developpement-communautes-2015"
P = "communagir-portfolio-municipal-2024"

# id -> (doc, [key phrases])   ; None -> dropped (reason in DROPPED)
J = {
 # keyword
 "h001": (P, ["gouvernance partagée"]),
 "h002": (P, ["plans intégrés en développement social", "plan intégré en développement social", "vision commune et intégrée du développement social"]),
 "h003": (H, ["leadership de processus collectif", "un leadership de processus et de contenus"]),
 "h004": (R, ["mobilisation durable des acteurs", "promouvoir l'approche de mobilisation des collectivités", "acteurs engagés en mobilisation des collectivités", "acteurs locaux travaillant à la mobilisation des collectivités"]),
 "h005": (H, ["la co-construction se définit comme", "la coconstruction est un processus qui rassemble", "susceptibles d'influencer les politiques"]),
 "h006": (R, ["concertation inter et multisectorielle"]),
 "h007": (H, ["collaboration avec les élus municipaux", "sondage auprès d'élus municipaux", "sondage auprès des élus municipaux", "participation des élus au développement collectif", "se démarquer auprès des élus"]),
 "h008": (P, ["politique de développement social de la ville de lévis", "politique en développement social et communautaire"]),
 "h009": (F, ["plan stratégique municipal qui positionne", "planification stratégique 2020-2027"]),
 "h010": (H, ["groupe de travail sur l'évaluation", "recension des pratiques d'évaluation", "observé les retombées concrètes des travaux", "démystifier l'évaluation"]),
 "h011": (P, ["notre approche d'accompagnement", "accompagnements sont élaborés sur mesure", "fonctions de l'accompagnement critique"]),
 "h012": (P, ["arrimage des plans et politiques", "gabarit intégrateur", "plans intégrés en développement social"]),
 # paraphrase
 "h013": (H, ["mettre ensemble une diversité d'acteurs", "acteurs volontaires provenant de milieux très différents", "c'est le croisement des points de vue"]),
 "h014": (H, ["responsabilités partagées par l'ensemble des membres", "assurer une responsabilité partagée"]),
 "h015": (F, ["rassembler plusieurs éléments, auparavant dispersés", "politiques regroupées, arrimées ou parapluie", "simple intégration dans un même document", "harmonisation des documents-cadres"]),
 "h016": (F, ["briser les silos des directions", "se faire des alliés dans chacun des services", "amélioration de la cohésion de l'action municipale"]),
 "h017": (H, ["maintenir leur motivation", "maintien de l'engagement des membres", "susciter et maintenir l'engagement", "maintenir une masse critique de membres", "le susciter et le maintenir dans le temps"]),
 "h018": (P, ["qui distingue notre approche", "à besoin unique, réponse unique", "accompagnements sont élaborés sur mesure"]),
 "h019": (F, ["rejoindre les personnes seules et isolées", "aller là où les gens sont", "mêler l'utile à l'agréable"]),
 "h020": (R, ["soutien financier qui s'appuie sur une stratégie", "ce lien se traduit essentiellement par le soutien financier"]),
 "h021": (P, ["surtout dans les petites municipalités", "municipalités ayant moins de ressources"]),
 "h022": (P, ["en amont des choix qui ont mené à la rédaction", "grâce à une démarche participative", "consultation visant à recueillir tous les commentaires"]),
 "h023": (R, ["afin qu'elle reconnaisse les concertations locales", "reconnaissance du mouvement communautaire comme acteur"]),
 "h024": (H, ["réaliser un bilan de l'expérience", "le fruit de nos apprentissages", "dans une prochaine mouture"]),
 # question
 "h025": (F, ["rassembler plusieurs éléments, auparavant dispersés", "simplification des documents-cadres", "gain de temps dans la gestion des politiques", "appartient rarement à un seul groupe cible", "meilleure cohésion dans l'appareil municipal"]),
 "h026": (H, ["processus d'hybridation et de transformation", "la coconstruction est un processus qui rassemble", "la co-construction se définit comme"]),
 "h027": (P, ["par l'entremise de son comité de développement social", "un mécanisme de collaboration permettant"]),
 "h028": None,
 "h029": (C, ["porteur d'une finalité de bien commun", "ensemble de pratiques collectives"]),
 "h030": (R, ["réseau de la santé et des services sociaux qui aura été l'instigateur", "l'institut a été créé en 1998", "la mission de l'inspq est de soutenir", "activités associées à la mobilisation et au développement des communautés"]),
 "h031": (H, ["les conditions dont nous avons pris soin", "un ensemble d'ingrédients essentiels", "également été un facteur de succès"]),
 "h032": (H, ["aborder les élus municipaux", "se démarquer auprès des élus", "participation des élus au développement collectif", "facilitent ou freinent leur contribution"]),
 "h033": (F, ["pandémie covid-19", "tenter de travailler en dehors des sentiers battus", "craintes de ne plus répondre aux besoins"]),
 "h034": (C, ["faire en sorte que les collectivités du québec"]),
 "h035": (H, ["sont des espaces de coconstruction animés par communagir", "l'intention initiale des chantiers partenariaux"]),
 "h036": (R, ["place incontournable qu'occupe le mouvement communautaire", "reconnaissance du mouvement communautaire comme acteur", "organismes communautaires d'autres communautés ont souhaité se regrouper"]),
 # english
 "h037": (P, ["gouvernance partagée"]),
 "h038": (P, ["coconstruction de politiques et d'initiatives", "la coconstruction des priorités incluses"]),
 "h039": (P, ["arrimage des plans et politiques en développement social", "par l'entremise de son comité de développement social", "palier local (municipalité) que supra-local"]),
 "h040": (F, ["les grandes idées à retenir", "conseils, trucs et astuces", "trouver les failles, attardez-vous", "réaliser la démarche par étapes"]),
 "h041": (H, ["maintenir leur motivation", "maintien de l'engagement des membres", "susciter et maintenir l'engagement", "maintenir une masse critique de membres", "le susciter et le maintenir dans le temps"]),
 "h042": (C, ["porteur d'une finalité de bien commun", "ensemble de pratiques collectives"]),
 "h043": (R, ["soutien financier qui s'appuie sur une stratégie", "investir une partie de leurs avoirs dans le secteur de la philanthropie", "la mission de la fondation lucie et andré chagnon est de prévenir"]),
 "h044": (F, ["briser les silos des directions", "se faire des alliés dans chacun des services", "amélioration de la cohésion de l'action municipale"]),
 "h045": (F, ["la participation citoyenne est un moyen essentiel", "politique de participation citoyenne a établi", "près de 20 consultations citoyennes", "budget participatif adulte et jeunesse", "ramener les citoyennes et les citoyens"]),
 "h046": (H, ["réaliser un bilan de l'expérience", "nous avons sondé les membres des chantiers", "dans le bilan de l'expérience", "groupe de travail sur l'évaluation"]),
 "h047": (C, ["exemples de besoins et de réponses", "comment renforçons-nous la capacité"]),
 "h048": (P, ["mada, jeunes, familles", "mettre à jour les objectifs pour certains groupes cibles"]),
 # typo
 "h049": (P, ["gouvernance partagée"]),
 "h050": (P, ["politique de développement social de la ville", "plan d'action en développement social", "collaboration territoriale pour le développement social", "plans et politiques en développement social"]),
 "h051": (H, ["la co-construction se définit comme", "la coconstruction est un processus qui rassemble", "susceptibles d'influencer les politiques"]),
 "h052": (H, ["collaboration avec les élus municipaux", "sondage auprès d'élus municipaux", "sondage auprès des élus municipaux", "participation des élus au développement collectif", "se démarquer auprès des élus"]),
 "h053": (H, ["sont des espaces de coconstruction animés par communagir", "l'intention initiale des chantiers partenariaux", "la première génération des chantiers", "les chantiers pour communagir"]),
 "h054": (F, ["cadres stratégiques municipaux plus cohérents", "démarches de cadres stratégiques innovantes"]),
 "h055": (P, ["mobilisation des partenaires", "soutenir les processus de mobilisation", "soutien à la mobilisation pour des"]),
 "h056": (R, ["concertation inter et multisectorielle"]),
 "h057": None,
 "h058": (P, ["arrimage des plans et politiques", "gabarit intégrateur", "plans intégrés en développement social", "vision commune et intégrée du développement social"]),
 "h059": (R, ["principaux acteurs du développement des communautés", "portrait sommaire du système de soutien", "la carte schématise, à la fois, les rôles"]),
 "h060": (P, ["mada, jeunes, familles"]),
 # fact
 "h061": (R, ["communagir est né en 2011"]),
 "h062": (F, ["nom des personnes qui ont présenté", "nom des organisations"]),
 "h063": (H, ["démarré quatre chantiers partenariaux", "les quatre chantiers partenariaux ont axé"]),
 "h064": (P, ["année : 2022"]),
 "h065": None,
 "h066": (H, ["fonds québécois d'initiatives sociales"]),
 "h067": (R, ["la fondation lucie et andré chagnon a été créée", "la mission de la fondation lucie et andré chagnon est de prévenir"]),
 "h068": None,
 "h069": (F, ["lancement festif"]),
 "h070": (P, ["en matanie 2022-2025", "mandataire : mrc de la matanie"]),
 "h071": (R, ["douze organisations nationales et les deux régions", "le groupe de réflexion est constitué de personnes", "légende des acronymes"]),
 "h072": None,
}
DROPPED = {
 "h028": "no passage states Communagir's values; the nearest (cadre: principles of « développement collectif »; portfolio: « avec rigueur et souplesse ») are too indirect to count as an answer",
 "h057": "typo twin of h028 (« valeurs de communagire »): same reason, no passage states Communagir's values",
 "h065": "the number of mandates (eleven) is not stated anywhere in the portfolio text; only the corpus README says it",
 "h068": "ambiguous (which démarche?) and no passage gives a number of people consulted in a démarche (Petit-Saguenay gives ~20 consultations, not people)",
 "h072": "CLD/CRÉ abolition is not mentioned; the 2015 document only alludes to « Loi 28 » and the « pacte fiscal transitoire»",
}
# mandates: id -> expect fragments (lower case), None -> dropped
M = {
 "hm01": None,
 "hm02": ["lévis"],
 "hm03": None,
 "hm04": ["chapdelaine", "lévis"],
 "hm05": ["beauharnois", "matanie"],
 "hm06": ["planification stratégique", "coeur villageois"],
 "hm07": ["beauharnois", "coeur villageois"],
 "hm08": ["rues principales"],
 "hm09": ["chapdelaine", "ahuntsic"],
 "hm10": ["beauharnois", "chapdelaine", "chenaux"],
 "hm11": ["matanie"],
 "hm12": ["lévis"],
 "hm13": None,
 "hm14": ["beauharnois", "chapdelaine"],
 "hm15": ["chapdelaine", "coeur villageois"],
 "hm16": ["lévis"],
 "hm17": None,
 "hm18": ["chenaux"],
 "hm19": ["lévis", "joliette", "ahuntsic"],
 "hm20": ["chapdelaine"],
 "hm21": ["joliette"],
 "hm22": ["chapdelaine", "beauharnois"],
}
MDROPPED = {
 "hm01": "same text as m01 in eval/mandate_queries.jsonl (both copy the example in the brief), so a held-out copy would not be independent of the tuning sets",
 "hm03": "same text as the example dm03 in ../shared/eval/README.md (read before writing), so not an independent query",
 "hm13": "no mandate is about food security (only the workshop sheet mentions « résilience alimentaire », which is not a mandate)",
 "hm17": "no mandate is about housing",
}

_Q = str.maketrans({"’": "'", "‘": "'", "«": '"', "»": '"', "“": '"', "”": '"'})
def norm(t):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", t).lower().translate(_Q)).strip()

if __name__ == "__main__":
    # The passages as `kb chunks --json --index INDEX > chunks.jsonl` prints them (argument 1).
    import sys
    chunks = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "chunks.jsonl", encoding="utf-8")]
    texts = [(i, c["path"][:-4], norm(c["text"])) for i, c in enumerate(chunks)]
    blind = {json.loads(l)["id"]: json.loads(l) for l in open(Path(__file__).with_name("queries-written-blind.jsonl"), encoding="utf-8")}
    for qid, j in J.items():
        if j is None:
            print(qid, "DROPPED"); continue
        doc, phrases = j
        print(f"{qid} [{blind[qid]['kind']}] {blind[qid]['query']}  -> {doc}")
        for p in phrases:
            hits = [(i, d[:5]) for i, d, t in texts if norm(p) in t]
            flag = "" if any(d == doc[:5] for _, d in hits) else "   <<< NOT IN DOC"
            print(f"    {p!r}: {hits}{flag}")
