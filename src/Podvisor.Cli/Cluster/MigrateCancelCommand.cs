using System.CommandLine;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// <c>podvisor migrate-cancel VM</c>: deletes the VM's unfinished migrations (KubeVirt's way to cancel one); the operator
/// stops the source sending and the VM runs on where it was — unless the source had already handed it over, after
/// which the migration completes. Waits (up to a minute) for the operator to finish each and says how it ended.
/// </summary>
internal static class MigrateCancelCommand
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);

    public static Command Create()
    {
        return VmCommand.Create("migrate-cancel", "Cancel a VM's live migration; the VM stays where it runs.", async context =>
        {
            var (resources, name, ns, ct) = (context.Resources, context.Vm, context.Namespace, context.CancellationToken);
            var unfinished = await resources.UnfinishedMigrationsAsync(name, ct);
            if (unfinished.Count == 0)
            {
                if (await resources.GetVmiAsync(name, ct) is null && await resources.GetVmAsync(name, ct) is null) throw resources.NoSuchVm(name);
                throw new ClusterException($"VM {name} has no migration under way");
            }
            int exit = 0;
            foreach (var migration in unfinished)
            {
                await resources.DeleteMigrationAsync(migration.Metadata.Name, ct);
                if (!await GoneAsync(resources, migration.Metadata.Name, ct))
                {
                    Console.Error.WriteLine($"podvisor: migration {migration.Metadata.Name} is marked for deletion but the operator has not finished " +
                        $"cancelling it within {Wait.TotalSeconds:0} s: is the Podvisor operator running? (`kubectl get vmim -n {ns} {migration.Metadata.Name}`)");
                    exit = 1;
                    continue;
                }
                var state = (await resources.GetVmiAsync(name, ct))?.Status?.MigrationState;
                if (state?.MigrationUid != migration.Metadata.Uid || state.AbortStatus is null)
                    Console.WriteLine($"migration {migration.Metadata.Name} of VM {ns}/{name} cancelled before it started");
                else if (state.AbortStatus == "Succeeded")
                    Console.WriteLine($"migration {migration.Metadata.Name} cancelled: VM {ns}/{name} stays on {state.SourceNode ?? "its node"}");
                else
                {
                    Console.Error.WriteLine($"podvisor: too late to cancel migration {migration.Metadata.Name}: VM {ns}/{name} " +
                        $"had already been handed over to {state.TargetNode ?? "the target"}");
                    exit = 1;
                }
            }
            return exit;
        });
    }

    /// <summary>Waits for the operator to finish with a deleted migration (its finalizer holds it until then).</summary>
    private static async Task<bool> GoneAsync(VmResources resources, string migration, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (await resources.GetMigrationAsync(migration, cancellationToken) is not null)
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
        return true;
    }
}
