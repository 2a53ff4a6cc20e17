using System.CommandLine;

namespace Podvisor.Cli.Cluster;

/// <summary>What a command on one VM is given: its parse, the cluster, Podvisor's resources in the namespace, the VM's name.</summary>
internal sealed record VmCommandContext(ParseResult Parse, ClusterConnection Cluster, VmResources Resources, string Vm, CancellationToken CancellationToken)
{
    public string Namespace => Cluster.Namespace;
}

/// <summary>
/// A command on one VM: its <c>vm</c> argument (shell completion offers the names of the namespace's VMs), kubectl's
/// connection flags, and a body run through <see cref="ClusterAction"/> (errors as one line, exit 1).
/// </summary>
internal static class VmCommand
{
    private static readonly TimeSpan CompletionTimeout = TimeSpan.FromSeconds(3);

    public static Command Create(string name, string description, Func<VmCommandContext, Task<int>> body, params Option[] options)
    {
        var vm = new Argument<string>("vm") { Description = "the VM (VirtualMachine name, or a VirtualMachineInstance's)" };
        var cluster = new ClusterOptions();
        var command = new Command(name, description) { vm };
        foreach (var option in options) command.Options.Add(option);
        cluster.AddTo(command);
        CompleteFromCluster(vm, cluster);
        command.SetAction((parse, ct) => ClusterAction.RunAsync(cluster, parse, connection =>
            body(new VmCommandContext(parse, connection, new VmResources(connection.Api, connection.Namespace), parse.GetValue(vm)!, ct))));
        return command;
    }

    /// <summary>Completes from the cluster the line's own flags name (--kubeconfig, --context, -n); offers nothing,
    /// quietly, when that cluster cannot be asked within a few seconds.</summary>
    private static void CompleteFromCluster(Argument<string> argument, ClusterOptions options)
    {
        argument.CompletionSources.Add(context =>
        {
            try
            {
                using var timeout = new CancellationTokenSource(CompletionTimeout);
                using var cluster = options.ConnectAsync(context.ParseResult, timeout.Token).GetAwaiter().GetResult();
                var resources = new VmResources(cluster.Api, cluster.Namespace);
                var vms = resources.ListVmsAsync(false, timeout.Token).GetAwaiter().GetResult().Select(v => v.Metadata.Name);
                var vmis = resources.ListVmisAsync(false, timeout.Token).GetAwaiter().GetResult().Select(v => v.Metadata.Name);
                return vms.Union(vmis).Where(n => n.StartsWith(context.WordToComplete, StringComparison.Ordinal)).Order()
                    .Select(n => new System.CommandLine.Completions.CompletionItem(n)).ToList();
            }
            catch (Exception e) when (e is ClusterException or ApiServerException or HttpRequestException or OperationCanceledException)
            {
                return [];
            }
        });
    }
}
