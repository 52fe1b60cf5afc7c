"""`kb` command line: parses arguments, calls the library, prints.

Exit codes: 0 success; 1 an error (one sentence on stderr, no traceback);
2 bad usage; 3 `kb build --strict` skipped at least one file.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from . import __version__
from .config import corpus_dir, index_dir
from .errors import KbError

EXIT_ERROR, EXIT_USAGE, EXIT_STRICT = 1, 2, 3


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


class _Bars:
    """One tqdm bar per build stage, on stderr (hidden when stderr is not a terminal)."""

    LABELS = {"scan": "Lecture des fichiers", "extract": "Extraction", "ocr": "Reconnaissance de caractères (pages)",
              "embed": "Vectorisation", "write": "Écriture"}

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=self.LABELS.get(stage, stage), unit="",
                                          file=sys.stderr, disable=None, leave=False)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def cmd_build(args: argparse.Namespace) -> int:
    from .build import BuildOptions, build_embedder_spec, build_index, build_second_spec, lower_build_priority
    from .embed import load_embedder

    lower_build_priority()  # the app's searches, if it runs here, keep the cores first

    embedder = load_embedder(build_embedder_spec(index_dir(args.index), args.model))
    second_spec = build_second_spec(index_dir(args.index), args.second_model)
    second = load_embedder(second_spec) if second_spec else None
    bars = _Bars(quiet=args.json)
    try:
        report = build_index(corpus_dir(args.corpus), index_dir(args.index), embedder,
                             BuildOptions(full=args.full, ocr=not args.no_ocr), progress=bars, second=second)
    finally:
        bars.close()
    if args.json:
        _print_json(report.to_dict())
    else:
        _print_build(report)
    return EXIT_STRICT if args.strict and report.skipped else 0


def _print_build(report) -> None:
    from .messages import french_reason

    state = "Index écrit" if report.written else "Index déjà à jour"
    print(f"{state} : {report.documents} documents, {report.chunks} passages, {report.mandates} mandats "
          f"({report.model}) en {report.seconds:.1f} s")
    print(f"  ajoutés {len(report.added)}, mis à jour {len(report.updated)}, retirés {len(report.removed)}, "
          f"inchangés {report.unchanged} ; {report.embedded} textes vectorisés")
    for label, paths in (("ajouté", report.added), ("mis à jour", report.updated), ("retiré", report.removed)):
        for p in paths:
            print(f"  {label} : {p}")
    for note in report.notes:
        print(f"  note : {note}")
    if report.dropped:
        names = {"toc": "tables des matières", "index": "index", "bibliography": "bibliographies"}
        print("  laissés hors des passages : " + ", ".join(f"{n} page(s) de {names.get(k, k)}"
                                                         for k, n in sorted(report.dropped.items())))
    _print_ocr(report.ocr)
    if report.skipped:
        print(f"{len(report.skipped)} fichier(s) ignoré(s) :")
        for s in report.skipped:
            print(f"  {s.path} : {french_reason(s.reason)}")


def _print_ocr(scanned) -> None:
    for d in scanned:
        if d["pages"]:
            conf = f", confiance moyenne {d['confidence']:.0f}/100" if d.get("confidence") is not None else ""
            low = f" ; fiabilité faible p. {', '.join(map(str, d['low_confidence_pages']))}" \
                if d.get("low_confidence_pages") else ""
            print(f"  OCR : {d['path']} — {len(d['pages'])} page(s) reconnue(s){conf}, langue {d.get('lang')}{low}")
        if d.get("unread_pages"):
            print(f"  OCR : {d['path']} — {len(d['unread_pages'])} page(s) numérisée(s) non lue(s) "
                  "(OCR désactivée, Tesseract absent — installez tesseract-ocr-fra —, ou aucun mot reconnu)")


def cmd_status(args: argparse.Namespace) -> int:
    from .build import read_by_older_pipeline
    from .document import PIPELINE_VERSION
    from .store import read_status

    status = read_status(index_dir(args.index))
    if args.json:
        _print_json(status.to_dict())
        return 0
    from .messages import french_reason

    print(f"Index {status.index} ({status.version})")
    print(f"  construit le  {status.built_at} à partir de {status.corpus}")
    print(f"  documents     {status.documents}")
    print(f"  passages      {status.chunks}")
    print(f"  mandats       {status.mandates}")
    print(f"  modèle        {status.model} (--model {status.embedder})")
    if read_by_older_pipeline(status):
        print(f"  lecture       version {status.pipeline}, antérieure à l'actuelle ({PIPELINE_VERSION}) : "
              f"la prochaine construction relira tous les fichiers")
    print(f"  index dense   {status.index_type}")
    if status.skipped:
        print(f"  ignorés       {len(status.skipped)} fichier(s) :")
        for s in status.skipped:
            print(f"    {s.path} : {french_reason(s.reason)}")
    _print_ocr(status.ocr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .errors import IndexCorruptError, IndexFormatError
    from .store import load_index

    try:
        index = load_index(index_dir(args.index), verify=True)
    except IndexCorruptError as exc:
        if args.json:
            _print_json({"healthy": False, "error": str(exc)})
        else:
            print(f"Index d'une version précédente de kb : {exc}" if isinstance(exc, IndexFormatError)
                  else f"Index endommagé : {exc}")
            print("Réparez-le avec `kb build` : ce qui est intact n'est pas revectorisé.")
        return EXIT_ERROR
    files = len(index.manifest["checksums"])
    if args.json:
        _print_json({"healthy": True, "version": index.version, "files": files, "documents": len(index.documents),
                     "chunks": len(index.chunks), "mandates": len(index.mandates)})
    else:
        print(f"Index sain ({index.version}) : {files} fichiers vérifiés (taille et SHA-256), "
              f"{len(index.documents)} documents, {len(index.chunks)} passages, {len(index.mandates)} mandats.")
    return 0


def cmd_chunks(args: argparse.Namespace) -> int:
    from .store import load_index

    index = load_index(index_dir(args.index))
    out = sys.stdout
    for c in index.chunks:
        if args.json:
            out.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        else:
            out.write(f"── {c.chunk_id}  {c.path}, {c.page_label}" + (f" · {c.section}" if c.section else "") + "\n")
            out.write(c.text + "\n\n")
    return 0


def _open(args: argparse.Namespace):
    from .session import KnowledgeBase

    return KnowledgeBase.open(index_dir(args.index), getattr(args, "model", None))


def cmd_search(args: argparse.Namespace) -> int:
    from .passages import SearchOptions
    from .snippet import mark_spans

    opts = SearchOptions(k=args.k, doc=args.doc, lang=args.lang, year=args.year, doc_type=args.type,
                         mode=args.mode)
    result = _open(args).search(args.query, opts)
    if args.json:
        _print_json(result.to_dict())
        return 0
    if not result.hits:
        print("Aucun résultat. Essayez d'autres mots, ou retirez des filtres.")
        return 0
    color = sys.stdout.isatty()
    if result.corrected:
        print(f"Aucun mot de « {result.query} » n'est dans les documents ; résultats pour « {result.suggestion} » :\n")
    elif result.suggestion:
        print(f"Vouliez-vous dire : « {result.suggestion} » ?\n")
    elif result.unknown_words:
        words = ", ".join(f"« {w} »" for w in result.unknown_words)
        print(f"Absent des documents : {words} (vérifiez l'orthographe) ; passages les plus proches par le sens :\n")
    for h in result.hits:
        c = h.chunk
        print(f"{h.rank:>2}. {c.title} — {c.page_label}" + (f" · {c.section}" if c.section else "")
              + f"  [{h.score:.3f}]")
        print(f"    {c.path}")
        print("    " + (mark_spans(h.snippet, h.snippet_highlights, "\033[1;33m", "\033[0m") if color else h.snippet))
        print()
    if result.related_mandates:
        print("Mandats liés :")
        for r in result.related_mandates:
            m = r.mandate
            print(f"  • {m.title} — {m.client}, {m.years}  [{m.id}]")
    return 0


def _print_mandates(ranked, query, as_json: bool) -> None:
    if as_json:
        _print_json({"query": query, "mandates": [r.to_dict() for r in ranked]})
        return
    if not ranked:
        print("Aucun mandat.")
    for r in ranked:
        m = r.mandate
        score = "" if r.score is None else f"  [{r.score:.3f}]"
        print(f"{r.rank:>2}. {m.title}{score}")
        print(f"    {m.client} · {m.years} · {m.path} p. {m.page} · id {m.id}")
        if m.themes:
            print(f"    thèmes : {', '.join(m.themes)}")
        if r.why:
            print(f"    pourquoi : {r.why}")
        print(f"    {m.summary}")
        print()


def cmd_mandates(args: argparse.Namespace) -> int:
    kb = _open(args)
    if args.list:
        _print_mandates(kb.mandates.listing(), None, args.json)
        return 0
    if args.like:
        _print_mandates(kb.mandates.like(args.like, args.k), None, args.json)
        return 0
    if not args.query:
        raise KbError("décrivez une situation (kb mandates \"…\"), ou utilisez --like ID ou --list")
    _print_mandates(kb.find_mandates(args.query, args.k), args.query, args.json)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_mandates, evaluate_search, load_qrels, qrels_kind

    rows = _feedback_rows(args, "mandate" if args.mandates else "passage") if args.feedback else None
    if rows is None:
        if not args.qrels:
            raise KbError("donnez un fichier de jugements, ou --feedback pour les avis donnés dans l'app")
        rows = load_qrels(args.qrels)
    kind = qrels_kind(rows)
    kb = _open(args)
    report = evaluate_mandates(kb, rows) if kind == "mandates" else evaluate_search(kb, rows, mode=args.mode)
    if args.json:
        _print_json(report.to_dict())
        return 0
    source = "avis de l'app" if args.feedback else args.qrels
    print(f"{len(report.queries)} requêtes ({'mandats' if kind == 'mandates' else 'passages'}, {source})")
    for name, value in report.metrics.items():
        print(f"  {name:<11}{value:.3f}")
    if report.by_kind:
        names = list(report.metrics)
        print(f"  {'par type':<12}{'n':>3}" + "".join(f"{m:>11}" for m in names))
        for k, ms in report.by_kind.items():
            n = sum(q.query_kind == k for q in report.queries)
            print(f"  {k:<12}{n:>3}" + "".join(f"{ms[m]:>11.3f}" for m in names))
    if report.failures:
        print("Pas en premier :")
        for q in report.failures:
            where = (f"premier pertinent au rang {q.first_relevant}" if q.first_relevant
                     else "aucun résultat pertinent")
            print(f"  {q.id} « {q.query} » : {where} ; en premier : {q.top}")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"il faut au moins 1 résultat, pas {value}")
    return value


def common(p: argparse.ArgumentParser, json_help: str = "sortie JSON pour les scripts") -> None:
    p.add_argument("--index", metavar="DIR", help="dossier de l'index (défaut : $KB_INDEX ou ./index)")
    p.add_argument("--json", action="store_true", help=json_help)


def _add_build(sub) -> None:
    p = sub.add_parser("build", help="indexer les PDF du dossier du corpus (incrémental)")
    common(p)
    p.add_argument("--corpus", metavar="DIR", help="dossier des PDF (défaut : $KB_CORPUS ou ./corpus)")
    p.add_argument("--full", action="store_true", help="tout reconstruire, sans rien réutiliser")
    p.add_argument("--strict", action="store_true", help="code de sortie 3 si un fichier a été ignoré")
    p.add_argument("--model", metavar="SPEC", help="modèle : e5, minilm, st:DOSSIER, hash ($KB_EMBEDDER) ; "
                   "défaut : celui de l'index, sinon e5")
    p.add_argument("--no-ocr", action="store_true", help="ne pas lire les pages numérisées (OCR)")
    p.add_argument("--second-model", metavar="SPEC",
                   help="un second modèle, plus fort, qui reclasse les meilleurs passages (st:DOSSIER ; "
                        "$KB_SECOND_MODEL ; none pour l'ôter) ; défaut : celui de l'index, sinon aucun")
    p.set_defaults(func=cmd_build)


def _feedback_rows(args: argparse.Namespace, kind: str) -> list:
    from .feedback import as_judgments, read_marks

    rows = as_judgments(read_marks(index_dir(args.index)), kind)
    if not rows:
        raise KbError("aucun avis « utile » n'a encore été donné dans l'app pour cet index")
    return rows


def cmd_tune(args: argparse.Namespace) -> int:
    from .evaluate import load_qrels
    from .store import clear_tuning
    from .tune import apply_tuning, tune_fusion, tune_on_feedback

    if args.reset:
        clear_tuning(index_dir(args.index))
        print("Poids par défaut rétablis.")
        return 0
    if args.qrels:
        rows = [r for path in args.qrels for r in load_qrels(path) if "doc" in r]
        if not rows:
            raise KbError("kb tune ajuste la recherche de passages : il faut des jugements de passages")
        report = tune_fusion(_open(args), rows, folds=args.folds)
    else:
        report = tune_on_feedback(_open(args), index_dir(args.index), folds=args.folds)
    if args.json:
        _print_json(report.to_dict())
    else:
        c, f = report.current, report.chosen
        print(f"{report.queries} requêtes, validation croisée en {report.folds} plis (MRR@10)")
        print(f"  poids actuels     α {c.alpha:.1f}, langue étrangère {c.foreign_alpha:.1f} : {report.current_mrr:.3f}")
        print(f"  poids ajustés     α {f.alpha:.1f}, langue étrangère {f.foreign_alpha:.1f} : "
              f"{report.cross_validated_mrr:.3f} sur les plis jamais vus ({report.chosen_mrr:.3f} sur tout)")
    if args.apply:
        if not apply_tuning(index_dir(args.index), report):
            print("Les poids ajustés ne font pas mieux sur les plis jamais vus : rien n'est changé.")
            return 0
        print("Poids appliqués : la recherche les utilise dès maintenant (`kb tune --reset` pour revenir).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="Base de connaissances sur des PDF en français : construire, vérifier, chercher.")
    parser.add_argument("--version", action="version", version=f"kb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_build(sub)

    p = sub.add_parser("search", help="chercher des passages (lexical français + sémantique)")
    common(p)
    p.add_argument("query", help="ce que vous cherchez, en français ou en anglais")
    p.add_argument("--k", type=_positive, default=10, help="nombre de passages (défaut 10)")
    p.add_argument("--doc", metavar="PATH", help="ce document seulement (chemin, nom de fichier ou nom sans .pdf)")
    p.add_argument("--lang", help="les passages dans cette langue seulement (fr, en…)")
    p.add_argument("--year", type=int, help="les documents de cette année seulement")
    p.add_argument("--type", help="ce type de document seulement (portfolio, fiche, rapport, cadre de référence)")
    p.add_argument("--mode", choices=("hybrid", "lexical", "dense"), default="hybrid", help=argparse.SUPPRESS)
    p.add_argument("--model", metavar="SPEC", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("mandates", help="mandats passés : proches d'une situation, d'un mandat, ou tous")
    common(p)
    p.add_argument("query", nargs="?", help="une situation, p. ex. « une MRC veut arrimer ses politiques sociales »")
    p.add_argument("--k", type=_positive, default=5, help="nombre de mandats (défaut 5)")
    p.add_argument("--like", metavar="ID", help="les mandats les plus proches de celui-ci")
    p.add_argument("--list", action="store_true", help="tous les mandats")
    p.add_argument("--model", metavar="SPEC", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_mandates)

    p = sub.add_parser("eval", help="mesurer la qualité de la recherche sur des jugements (JSON lines)")
    common(p)
    p.add_argument("qrels", nargs="?", help="fichier de jugements, p. ex. eval/dev_search.jsonl")
    p.add_argument("--feedback", action="store_true", help="les avis « utile » donnés dans l'app")
    p.add_argument("--mandates", action="store_true", help="avec --feedback : les avis sur les mandats")
    p.add_argument("--mode", choices=("hybrid", "lexical", "dense"), default="hybrid",
                   help="recherche à évaluer (défaut hybrid)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("tune", help="ajuster les poids de la fusion par validation croisée")
    common(p)
    p.add_argument("qrels", nargs="*", help="fichiers de jugements (défaut : les avis donnés dans l'app)")
    p.add_argument("--folds", type=_positive, default=5, help="nombre de plis (défaut 5)")
    p.add_argument("--apply", action="store_true", help="appliquer les poids s'ils font mieux sur les plis jamais vus")
    p.add_argument("--reset", action="store_true", help="revenir aux poids par défaut")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("status", help="ce que contient l'index")
    common(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("check", help="vérifier chaque fichier de l'index (taille et somme de contrôle)")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("chunks", help="tous les passages avec leur citation")
    common(p, "un objet JSON par ligne")
    p.set_defaults(func=cmd_chunks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    bad = next((a for a in argv if any("\udc80" <= ch <= "\udcff" for ch in a)), None)
    if bad is not None:  # bytes that are not UTF-8 reach Python as lone surrogates
        parser.error(f"un argument n'est pas du texte UTF-8 valide : {bad.encode('utf-8', 'replace').decode()}")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KbError as exc:
        print(f"kb: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("kb: interrompu ; l'index précédent est intact", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kb chunks | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
