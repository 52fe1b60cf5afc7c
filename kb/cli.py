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

    LABELS = {"scan": "Lecture des fichiers", "extract": "Extraction", "embed": "Vectorisation", "write": "Écriture"}

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
    from .build import BuildOptions, build_embedder_spec, build_index
    from .embed import load_embedder

    embedder = load_embedder(build_embedder_spec(index_dir(args.index), args.model))
    bars = _Bars(quiet=args.json)
    try:
        report = build_index(corpus_dir(args.corpus), index_dir(args.index), embedder,
                             BuildOptions(full=args.full), progress=bars)
    finally:
        bars.close()
    if args.json:
        _print_json(report.to_dict())
    else:
        state = "Index written" if report.written else "Index already up to date"
        print(f"{state}: {report.documents} documents, {report.chunks} chunks, {report.mandates} mandates "
              f"({report.model}) in {report.seconds:.1f} s")
        print(f"  added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
              f"unchanged {report.unchanged}; {report.embedded} texts embedded")
        for label, paths in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
            for p in paths:
                print(f"  {label}: {p}")
        for note in report.notes:
            print(f"  note: {note}")
        if report.skipped:
            print(f"Skipped {len(report.skipped)} file(s):")
            for s in report.skipped:
                print(f"  {s.path}: {s.reason}")
    return EXIT_STRICT if args.strict and report.skipped else 0


def cmd_status(args: argparse.Namespace) -> int:
    from .store import read_status

    status = read_status(index_dir(args.index))
    if args.json:
        _print_json(status.to_dict())
        return 0
    print(f"Index {status.index} ({status.version})")
    print(f"  built at   {status.built_at} from {status.corpus}")
    print(f"  documents  {status.documents}")
    print(f"  chunks     {status.chunks}")
    print(f"  mandates   {status.mandates}")
    print(f"  model      {status.model} (--model {status.embedder})")
    print(f"  index type {status.index_type}")
    if status.skipped:
        print(f"  skipped    {len(status.skipped)} file(s):")
        for s in status.skipped:
            print(f"    {s.path}: {s.reason}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .errors import IndexCorruptError
    from .store import load_index

    try:
        index = load_index(index_dir(args.index), verify=True)
    except IndexCorruptError as exc:
        if args.json:
            _print_json({"healthy": False, "error": str(exc)})
        else:
            print(f"Index endommagé : {exc}")
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
        raise KbError("describe a situation (kb mandates \"…\"), or use --like ID or --list")
    _print_mandates(kb.find_mandates(args.query, args.k), args.query, args.json)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_mandates, evaluate_search, load_qrels, qrels_kind

    rows = load_qrels(args.qrels)
    kind = qrels_kind(rows)
    kb = _open(args)
    report = evaluate_mandates(kb, rows) if kind == "mandates" else evaluate_search(kb, rows, mode=args.mode)
    if args.json:
        _print_json(report.to_dict())
        return 0
    print(f"{len(report.queries)} queries ({kind}, {args.qrels})")
    for name, value in report.metrics.items():
        print(f"  {name:<11}{value:.3f}")
    if report.failures:
        print("Not first:")
        for q in report.failures:
            where = f"first relevant at rank {q.first_relevant}" if q.first_relevant else "no relevant result"
            print(f"  {q.id} « {q.query} »: {where}; first came {q.top}")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"il faut au moins 1 résultat, pas {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="Knowledge base over French PDFs: build, inspect, search.")
    parser.add_argument("--version", action="version", version=f"kb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser, json_help: str = "print JSON for scripts") -> None:
        p.add_argument("--index", metavar="DIR", help="index folder (default: $KB_INDEX or ./index)")
        p.add_argument("--json", action="store_true", help=json_help)

    p = sub.add_parser("build", help="index the PDFs of the corpus folder (incremental)")
    common(p)
    p.add_argument("--corpus", metavar="DIR", help="folder of PDFs (default: $KB_CORPUS or ./corpus)")
    p.add_argument("--full", action="store_true", help="rebuild everything, reusing nothing")
    p.add_argument("--strict", action="store_true", help="exit with code 3 if any file was skipped")
    p.add_argument("--model", metavar="SPEC", help="embedder: e5, minilm, st:PATH, hash ($KB_EMBEDDER); "
                   "default: the index's current model, else e5")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("search", help="search passages (hybrid French lexical + dense)")
    common(p)
    p.add_argument("query", help="what to look for, in French or English")
    p.add_argument("--k", type=_positive, default=10, help="number of passages (default 10)")
    p.add_argument("--doc", metavar="PATH", help="only this document (path, file name or name without .pdf)")
    p.add_argument("--lang", help="only passages in this language (fr, en…)")
    p.add_argument("--year", type=int, help="only documents of this year")
    p.add_argument("--type", help="only this document type (portfolio, fiche, rapport, cadre de référence)")
    p.add_argument("--mode", choices=("hybrid", "lexical", "dense"), default="hybrid", help=argparse.SUPPRESS)
    p.add_argument("--model", metavar="SPEC", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("mandates", help="past mandates: similar to a situation, to a mandate, or all")
    common(p)
    p.add_argument("query", nargs="?", help="a situation, e.g. « une MRC veut arrimer ses politiques sociales »")
    p.add_argument("--k", type=_positive, default=5, help="number of mandates (default 5)")
    p.add_argument("--like", metavar="ID", help="the mandates most similar to this one")
    p.add_argument("--list", action="store_true", help="every mandate")
    p.add_argument("--model", metavar="SPEC", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_mandates)

    p = sub.add_parser("eval", help="measure search quality against relevance judgments (JSON lines)")
    common(p)
    p.add_argument("qrels", help="judgments file, e.g. ../shared/eval/dev_search.jsonl")
    p.add_argument("--mode", choices=("hybrid", "lexical", "dense"), default="hybrid",
                   help="retrieval to evaluate (default hybrid)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("status", help="what the index holds")
    common(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("check", help="verify every file of the index against its checksum")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("chunks", help="every chunk with its citation")
    common(p, "one JSON object a line")
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
        print("kb: interrupted; the previous index is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kb chunks | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
