using System.CommandLine;

namespace Podvisor.Cli;

/// <summary>
/// Completion of <c>kubectl podvisor …</c>: kubectl (1.26 and later) runs <c>kubectl_complete-podvisor</c> from PATH with the
/// words after "podvisor", the last being the one completed (empty after a space), and reads Cobra's answer: a
/// candidate per line, then <c>:4</c> (no file names). That script (published beside <c>kubectl-podvisor</c>) runs
/// <c>kubectl-podvisor __kubectl-complete WORDS…</c>, answered here with the same suggestions as podvisor's own completion.
/// </summary>
internal static class KubectlCompletion
{
    public const string Command = "__kubectl-complete";

    /// <summary>Cobra's ShellCompDirectiveNoFileComp: offer nothing but the candidates.</summary>
    private const string NoFileCompletion = ":4";

    public static async Task<int> RunAsync(RootCommand root, string[] words)
    {
        string line = string.Join(' ', words);
        // System.CommandLine's [suggest:N] directive prints the candidates for the line up to position N.
        await root.Parse([$"[suggest:{line.Length}]", line]).InvokeAsync();
        Console.WriteLine(NoFileCompletion);
        return 0;
    }
}
