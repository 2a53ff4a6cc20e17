using System.CommandLine;
using System.Reflection;
using System.Text.Json;
using static Podvisor.Cli.Cluster.JsonFields;
using Podvisor.Cli.Cluster;

namespace Podvisor.Cli;

/// <summary>
/// <c>podvisor version</c>: this CLI's version (with the commit it was built from), and — unless <c>--client</c> — the
/// cluster's: the Kubernetes API server's version and whether Podvisor's API is installed there.
/// </summary>
internal static class VersionCommand
{
    public static string ClientVersion =>
        typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static Command Create()
    {
        var clientOnly = new Option<bool>("--client") { Description = "only this CLI's version, without asking the cluster" };
        var cluster = new ClusterOptions();
        var command = new Command("version", "Show the CLI's version and the cluster's.") { clientOnly };
        cluster.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            Console.WriteLine($"Client: podvisor {ClientVersion}");
            if (parse.GetValue(clientOnly)) return 0;
            return await ClusterAction.RunAsync(cluster, parse, async connection =>
            {
                var server = await connection.Api.GetAsync("/version", ct);
                Console.WriteLine($"Server: Kubernetes {Text(server, "gitVersion")} at {connection.Api.Server}");
                var groups = await connection.Api.GetAsync("/apis", ct);
                var podvisor = Array(groups, "groups").FirstOrDefault(g => Text(g, "name") == Api.ApiGroup.Group);
                Console.WriteLine(podvisor.ValueKind != JsonValueKind.Object
                    ? $"Podvisor API: not installed (no {Api.ApiGroup.Group} API group: helm install podvisor charts/podvisor)"
                    : $"Podvisor API: {string.Join(", ", Array(podvisor, "versions").Select(v => Text(v, "groupVersion")))}");
                return 0;
            });
        });
        return command;
    }
}
