"""seqlab completion bash|zsh — a shell completion script, generated from the command line itself."""

from __future__ import annotations

import argparse

from .output import ExamplesFormatter

HELP = "print a shell completion script (bash or zsh): eval \"$(seqlab completion bash)\""


def add_parser(sub) -> None:
    p = sub.add_parser("completion", help=HELP, formatter_class=ExamplesFormatter,
                       description=HELP + ". Completes commands, each command's options, packaged recipe names "
                       "after `train` and `config`, and file names.",
                       epilog="install:  echo 'eval \"$(seqlab completion bash)\"' >> ~/.bashrc\n"
                              "          echo 'eval \"$(seqlab completion zsh)\"' >> ~/.zshrc")
    p.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete for")


def script(parser: argparse.ArgumentParser) -> str:
    """The bash completion function for ``parser``'s subcommands and their options."""
    from ..config import packaged_recipes

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cases = []
    for name, command in sub.choices.items():
        flags = sorted(o for a in command._actions for o in a.option_strings)
        choices = sorted({str(c) for a in command._actions if not a.option_strings and a.choices for c in a.choices})
        cases.append(f'    {name}) opts="{" ".join(flags)}"; words="{" ".join(choices)}";;')
    recipes = " ".join(packaged_recipes())
    return f'''_seqlab() {{
  local cur cmd opts words
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  cmd="${{COMP_WORDS[1]}}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "{" ".join(sub.choices)} --help --version --debug" -- "$cur") ); return
  fi
  case "$cmd" in
{chr(10).join(cases)}
    *) opts=""; words="";;
  esac
  case "$cmd" in train|config) words="$words {recipes}";; esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur") )
  fi
}}
complete -o filenames -F _seqlab seqlab
'''


def run(args: argparse.Namespace) -> int:
    from .main import build_parser

    text = script(build_parser())
    if args.shell == "zsh":  # zsh runs bash completion functions through bashcompinit
        text = "autoload -U +X bashcompinit && bashcompinit\n" + text
    print(text, end="")
    return 0
