using System.CommandLine;
using System.Runtime.InteropServices;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// <c>podvisor migrate VM</c>: creates a VirtualMachineInstanceMigration for the VM's running instance and follows it —
/// a progress bar fed by the migration's status — to Succeeded (exit 0, with the downtime and what was sent) or Failed
/// (exit 1, with the reason). Ctrl+C stops following, not the migration (<c>podvisor migrate-cancel</c> does that);
/// <c>--no-wait</c> returns once the migration exists.
/// </summary>
internal static class MigrateCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var noWait = new Option<bool>("--no-wait") { Description = "return once the migration is created, without following it" };
        return VmCommand.Create("migrate", "Live-migrate a running VM to another node, showing its progress.", async context =>
        {
            string name = context.Vm, ns = context.Namespace;
            var migration = await StartAsync(context.Resources, name, context.CancellationToken);
            string created = migration.Metadata.Name;
            if (context.Parse.GetValue(noWait))
            {
                Console.WriteLine($"VM {ns}/{name} is migrating: VirtualMachineInstanceMigration {created} " +
                    $"(`kubectl get vmim -n {ns} {created} -w` follows it, `podvisor migrate-cancel {name}` cancels it)");
                return 0;
            }
            Console.Error.WriteLine($"podvisor: migrating {ns}/{name} ({created}); Ctrl+C stops watching, not the migration");
            return await FollowAsync(context.Resources, name, created, context.CancellationToken);
        }, noWait);
    }

    private static async Task<VirtualMachineInstanceMigration> StartAsync(VmResources resources, string name, CancellationToken cancellationToken)
    {
        string ns = resources.Namespace;
        var vmi = await resources.GetVmiAsync(name, cancellationToken)
            ?? throw (await resources.GetVmAsync(name, cancellationToken) is null ? resources.NoSuchVm(name)
                : new ClusterException($"VM {name} is not running: only a running VM migrates (`podvisor start {name}`)"));
        if (vmi.Metadata.DeletionTimestamp is not null) throw new ClusterException($"VM {name} is stopping: only a running VM migrates");
        if (vmi.Status?.Phase != VmiPhases.Running)
            throw new ClusterException($"VM {name} is {vmi.Status?.Phase ?? VmiPhases.Pending}: only a running VM migrates");
        if (ConditionLookup.IsTrue(vmi.Status.Conditions, ConditionTypes.Paused))
            throw new ClusterException($"VM {name} is paused: unpause it first (`podvisor unpause {name}`)");
        if ((await resources.UnfinishedMigrationsAsync(name, cancellationToken)).FirstOrDefault() is { } running)
            throw new ClusterException($"VM {name} is already migrating (VirtualMachineInstanceMigration {running.Metadata.Name}, " +
                $"{running.Status?.Phase ?? MigrationPhases.Pending}): wait for it, or `podvisor migrate-cancel {name}`");
        return await resources.CreateMigrationAsync(new VirtualMachineInstanceMigration
        {
            Metadata = new V1ObjectMeta { GenerateName = $"{name}-migration-", NamespaceProperty = ns },
            Spec = new VirtualMachineInstanceMigrationSpec { VmiName = name },
        }, cancellationToken);
    }

    private static async Task<int> FollowAsync(VmResources resources, string vm, string name, CancellationToken cancellationToken)
    {
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stopWatching.Cancel();
        });
        var progress = new MigrationProgress(Console.Out, !Console.IsOutputRedirected);
        try
        {
            while (true)
            {
                var migration = await resources.GetMigrationAsync(name, stopWatching.Token);
                if (migration is null)
                {
                    progress.Finish();
                    Console.Error.WriteLine($"podvisor: migration {name} was deleted before it ended (cancelled): VM {vm} stays where it was");
                    return 1;
                }
                progress.Show(migration.Status);
                if (MigrationPhases.IsFinal(migration.Status?.Phase))
                {
                    progress.Finish();
                    return await ReportAsync(resources, vm, migration, cancellationToken);
                }
                await Task.Delay(PollInterval, stopWatching.Token);
            }
        }
        catch (OperationCanceledException) when (stopWatching.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            progress.Finish();
            Console.Error.WriteLine($"podvisor: stopped watching; migration {name} goes on (`podvisor migrate-cancel {vm}` cancels it)");
            return 130;
        }
    }

    private static async Task<int> ReportAsync(VmResources resources, string vm, VirtualMachineInstanceMigration migration, CancellationToken cancellationToken)
    {
        var status = migration.Status!;
        var state = (await resources.GetVmiAsync(vm, cancellationToken))?.Status?.MigrationState;
        if (state?.MigrationUid != migration.Metadata.Uid) state = null;           // the VMI has moved on to another migration
        if (status.Phase == MigrationPhases.Failed)
        {
            string why = ConditionLookup.Find(status.Conditions, ConditionTypes.Ready)?.Message ?? state?.FailureReason ?? "no reason given";
            Console.Error.WriteLine($"podvisor: migration {migration.Metadata.Name} failed: {why}");
            return 1;
        }
        string where = state is { SourceNode: { } from, TargetNode: { } to } ? $" from {from} to {to}" : "";
        string took = state is { StartTimestamp: { } start, EndTimestamp: { } end } ? $" in {(end - start).TotalSeconds:0.0} s" : "";
        string downtime = status.DowntimeMilliseconds is { } ms ? $"downtime {ms:0} ms, " : "";
        Console.WriteLine($"VM {resources.Namespace}/{vm} migrated{where}{took}: {downtime}{MigrationProgress.Mib(status.BytesTransferred ?? 0)} sent in {status.Iterations ?? 0} round(s)");
        return 0;
    }
}
