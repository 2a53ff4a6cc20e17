using System.CommandLine;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// <c>podvisor status VM</c>: one VM in detail — its status and run strategy, its running instance (phase, node, launcher
/// pod, addresses, conditions), pending start/stop requests, its latest migration and any migration under way, and the
/// latest warnings about it.
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        return VmCommand.Create("status", "Show a VM's status, instance, addresses, conditions and migrations.", async context =>
        {
            var (resources, name, ct) = (context.Resources, context.Vm, context.CancellationToken);
            var machine = await resources.GetVmAsync(name, ct);
            var vmi = await resources.GetVmiAsync(name, ct);
            if (machine is null && vmi is null) throw resources.NoSuchVm(name);
            var migrations = vmi is null ? [] : await resources.UnfinishedMigrationsAsync(name, ct);
            var warnings = await resources.WarningsAboutAsync(vmi is null ? VirtualMachine.KindName : VirtualMachineInstance.KindName, name, ct);
            Write(Console.Out, context.Namespace, name, machine, vmi, migrations, warnings.TakeLast(3).Select(e => $"{e.Reason}: {e.Message}"));
            return 0;
        });
    }

    private static void Write(TextWriter output, string ns, string name, VirtualMachine? vm, VirtualMachineInstance? vmi,
        List<VirtualMachineInstanceMigration> migrations, IEnumerable<string> warnings)
    {
        var lines = new List<(string Key, string Value)> { ("Name", name), ("Namespace", ns) };
        if (vm is not null)
        {
            lines.Add(("Status", vm.Status?.PrintableStatus ?? PrintableStatuses.Unknown));
            lines.Add(("Run strategy", StateChangePlanner.Strategy(vm)));
            lines.Add(("Ready", vm.Status?.Ready == true ? "True" : "False"));
            if (vm.Status?.StateChangeRequests is { Count: > 0 } pending)
                lines.Add(("Pending requests", string.Join(", ", pending.Select(r => r.Action))));
        }
        else lines.Add(("Status", "instance only (no VirtualMachine)"));
        if (vmi is null) lines.Add(("Instance", "none"));
        else
        {
            var status = vmi.Status;
            string since = status?.PhaseTransitionTimestamps?.LastOrDefault(p => p.Phase == status.Phase)?.PhaseTransitionTimestamp is { } at
                ? $" since {at.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z" : "";
            lines.Add(("Instance", $"{status?.Phase ?? VmiPhases.Pending}{since}{(status?.Reason is { } why ? $" ({why})" : "")}"));
            if (status?.NodeName is { } node) lines.Add(("Node", node));
            if (status?.ActivePods is { Count: > 0 } pods) lines.Add(("Launcher pod", string.Join(", ", pods.Keys)));
            foreach (var nic in status?.Interfaces ?? [])
                lines.Add(($"Interface {nic.Name ?? nic.InterfaceName ?? "?"}", string.Join(" ", new[] { nic.IpAddress, nic.Mac }.Where(v => !string.IsNullOrEmpty(v)))));
            foreach (var condition in status?.Conditions ?? [])
                lines.Add(($"Condition {condition.Type}", $"{condition.Status}{(condition.Reason is { } r ? $" {r}" : "")}{(condition.Message is { } m ? $": {m}" : "")}"));
            if (status?.MigrationState is { } state) lines.Add(("Last migration", Describe(state)));
        }
        foreach (var migration in migrations)
            lines.Add(("Migrating", $"{migration.Metadata.Name}: {MigrationProgress.Describe(migration.Status)}"));
        foreach (string warning in warnings) lines.Add(("Warning", warning));
        int width = lines.Max(l => l.Key.Length) + 2;
        foreach (var (key, value) in lines) output.WriteLine($"{(key + ":").PadRight(width)}{value}");
    }

    private static string Describe(MigrationState state)
    {
        string outcome = state.Completed == true ? "succeeded" : state.Failed == true ? $"failed: {state.FailureReason ?? "no reason given"}" : "under way";
        string route = $"{state.SourceNode ?? "?"} -> {state.TargetNode ?? "?"}";
        string when = state.EndTimestamp is { } end ? $", ended {end.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z" : state.StartTimestamp is { } start ? $", started {start.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z" : "";
        return $"{route} {outcome}{when}";
    }
}
