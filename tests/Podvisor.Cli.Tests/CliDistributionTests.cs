using System.Diagnostics;
using Podvisor.Testing;

namespace Podvisor.Cli.Tests;

/// <summary>How users get and drive the CLI: its version (and the cluster's), shell completion that asks the binary
/// itself (commands, flags, the cluster's VM names), and the kubectl plugin.</summary>
public sealed class CliDistributionTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void VersionNamesTheBuildAndTheCluster()
    {
        var client = Podvisor.Run(["version", "--client"], native: true);
        Assert.Equal(0, client.ExitCode);
        Assert.Matches(@"^Client: podvisor 0\.1\.0\+[0-9a-f]{40}\n$", client.Stdout);

        var both = Podvisor.Run(["version", "--kubeconfig", cluster.Server.KubeconfigPath], native: true);
        Assert.True(both.ExitCode == 0, both.Stderr);
        Assert.Contains($"Server: Kubernetes v1.20.2", both.Stdout);
        Assert.Contains("Podvisor API: podvisor.io/v1alpha1", both.Stdout);
    }

    /// <summary>
    /// The CLI shares the domain → machine mapping with the launcher through Podvisor.Domain, never by referencing the
    /// launcher's executable: NativeAOT would compile that program's entry point in, and with it Kestrel and
    /// OpenTelemetry (the binary was 19.9 MB with them, 11.2 without, and slower to start).
    /// </summary>
    [Fact]
    public void TheCliCarriesNoneOfTheLauncher()
    {
        string deps = File.ReadAllText(Path.ChangeExtension(Podvisor.Dll, ".deps.json"));
        foreach (string name in new[] { "podvisor-launcher", "Microsoft.AspNetCore", "OpenTelemetry" })
            Assert.DoesNotContain(name, deps);
        if (Podvisor.Native is not { } native) return;          // a developer's plain build: its dependencies were the check
        string binary = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(native));
        foreach (string name in new[] { "Podvisor.Launcher", "KestrelServer", "OpenTelemetry" })
            Assert.DoesNotContain(name, binary);
    }

    /// <summary>What bash completes for <paramref name="line"/> (the cursor at its end) with podvisor's script.</summary>
    private static async Task<string[]> CompleteAsync(string line)
    {
        string binary = Podvisor.Native ?? WrapperFor("podvisor");
        string script = Podvisor.Run(["completion", "bash"], native: true).Stdout;
        string dir = Directory.CreateTempSubdirectory("podvisor-completion-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "completion.bash"), script);
            var words = line.Split(' ');
            words[0] = binary;
            string compLine = string.Join(' ', words);
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add($"""
                source {dir}/completion.bash
                COMP_LINE='{compLine}'; COMP_POINT=${"{"}#COMP_LINE{"}"}
                read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=('')
                COMP_CWORD=$(( ${"{"}#COMP_WORDS[@]{"}"} - 1 ))
                _podvisor_complete
                printf '%s\n' "${"{"}COMPREPLY[@]{"}"}"
                """);
            using var bash = Process.Start(psi)!;
            string output = await bash.StandardOutput.ReadToEndAsync(Ct);
            await bash.WaitForExitAsync(Ct);
            Assert.True(bash.ExitCode == 0, await bash.StandardError.ReadToEndAsync(Ct));
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Without a native build (a developer's plain build), a script that runs the framework-dependent CLI.</summary>
    private static string WrapperFor(string name)
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-wrapper-").FullName;
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, $"#!/bin/sh\nexec dotnet {Podvisor.Dll} \"$@\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task BashCompletesCommandsFlagsAndTheClustersVmNames()
    {
        Assert.Equal(["migrate", "migrate-cancel"], await CompleteAsync("podvisor mig"));
        Assert.Contains("--all-namespaces", await CompleteAsync("podvisor list --a"));
        await cluster.CreateVmAsync("cache-1", "runStrategy: Halted");
        await cluster.CreateVmAsync("cache-2", "runStrategy: Halted");
        await cluster.CreateVmAsync("queue", "runStrategy: Halted");
        Assert.Equal(["cache-1", "cache-2"], await CompleteAsync($"podvisor start --kubeconfig {cluster.Server.KubeconfigPath} cac"));
        // No cluster to ask: nothing offered, and no error on the terminal.
        Assert.Empty(await CompleteAsync("podvisor start --kubeconfig /nonexistent cac"));
    }

    /// <summary>
    /// The folder a user puts on PATH: what scripts/publish made beside the native podvisor (kubectl-podvisor and
    /// kubectl_complete-podvisor); without a native build, a wrapper and the repository's completion script.
    /// </summary>
    private static string PluginFolder()
    {
        if (Podvisor.Native is { } native) return Path.GetDirectoryName(native)!;
        string folder = Path.GetDirectoryName(WrapperFor("kubectl-podvisor"))!;
        File.Copy(Path.Combine(Repository.Root, "src", "Podvisor.Cli", "kubectl_complete-podvisor"), Path.Combine(folder, "kubectl_complete-podvisor"));
        return folder;
    }

    /// <summary>The real kubectl with <paramref name="folder"/> first on its PATH (where it looks for plugins).</summary>
    private static async Task<(string Output, string Errors)> KubectlAsync(string folder, params string[] arguments)
    {
        var (code, output, errors) = await Kubectl.Tool.TryRunAsync(null, arguments, Ct,
            new Dictionary<string, string> { ["PATH"] = $"{folder}:{Environment.GetEnvironmentVariable("PATH")}" });
        Assert.True(code == 0, errors);
        return (output, errors);
    }

    [Fact]
    public async Task KubectlRunsItAsAPluginWithKubectlsFlags()
    {
        string folder = PluginFolder();
        foreach (string file in new[] { "kubectl-podvisor", "kubectl_complete-podvisor" })
            Assert.True(File.Exists(Path.Combine(folder, file)), $"{file} is missing from {folder}: scripts/publish makes it");
        await cluster.CreateVmAsync("plugged", "runStrategy: Halted");
        var (output, _) = await KubectlAsync(folder, "podvisor", "start", "plugged", "-n", "default", "--kubeconfig", cluster.Server.KubeconfigPath);
        Assert.Equal("VM default/plugged was scheduled to start\n", output);
        Assert.Equal(Api.RunStrategies.Always, (await cluster.GetVmAsync("plugged"))!.Spec.RunStrategy);
    }

    [Fact]
    public async Task KubectlsCompletionOfThePluginOffersItsCommandsAndTheClustersVms()
    {
        // What kubectl's shell completion asks (`kubectl __complete …`): kubectl runs kubectl_complete-podvisor from PATH.
        string folder = PluginFolder();
        var (output, errors) = await KubectlAsync(folder, "__complete", "podvisor", "mig");
        Assert.Equal("migrate\nmigrate-cancel\n:4\n", output);                // :4, Cobra's "no file names"
        Assert.Contains("ShellCompDirectiveNoFileComp", errors);
        await cluster.CreateVmAsync("plug-1", "runStrategy: Halted");
        await cluster.CreateVmAsync("plug-2", "runStrategy: Halted");
        (output, _) = await KubectlAsync(folder, "__complete", "podvisor", "stop", "--kubeconfig", cluster.Server.KubeconfigPath, "plug-");
        Assert.Equal("plug-1\nplug-2\n:4\n", output);
        (output, _) = await KubectlAsync(folder, "__complete", "podvisor", "list", "--all");
        Assert.Equal("--all-namespaces\n:4\n", output);
    }
}
