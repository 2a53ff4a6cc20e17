using System.CommandLine;

namespace Podvisor.Cli;

/// <summary>
/// <c>podvisor completion bash|zsh</c>: a script that completes podvisor's (and kubectl-podvisor's) commands, flags and
/// VM names by asking podvisor itself (System.CommandLine's <c>[suggest:N]</c> directive, with the line after the
/// program's name), so completion always matches the binary installed. <c>source &lt;(podvisor completion bash)</c>.
/// </summary>
internal static class CompletionCommand
{
    private const string Bash = """
        # podvisor shell completion: source <(podvisor completion bash)
        _podvisor_complete() {
            local line="${COMP_LINE:0:COMP_POINT}"
            local program="${line%%[[:space:]]*}"
            local rest="${line#"$program"}"
            rest="${rest#"${rest%%[![:space:]]*}"}"
            local IFS=$'\n'
            COMPREPLY=($("${COMP_WORDS[0]}" "[suggest:${#rest}]" "$rest" 2>/dev/null))
        }
        complete -o default -F _podvisor_complete podvisor kubectl-podvisor

        """;

    // zsh runs the bash function through its bash-completion emulation.
    private const string Zsh = "autoload -U +X bashcompinit && bashcompinit\n" + Bash;

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "Print a shell completion script (source <(podvisor completion bash)).") { shell };
        command.SetAction(parse =>
        {
            Console.Write(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return 0;
        });
        return command;
    }
}
