using Podvisor.Api;

namespace Podvisor.Cli.Tests;

/// <summary>
/// <c>podvisor migrate</c> and <c>migrate-cancel</c> against the real API server, the test in the operator's place: the
/// migration the CLI creates is driven through its phases by writing its status, and the CLI shows the progress and
/// how it ended; refusals say why.
/// </summary>
public sealed class MigrateCommandTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private const string OperatorFinalizer = "podvisor.io/migration-controller";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string[] Args(params string[] args) => [.. args, "--kubeconfig", cluster.Server.KubeconfigPath];

    private Podvisor.Result Cli(params string[] args) => Podvisor.Run(Args(args), native: true);

    private async Task<VirtualMachineInstanceMigration> CreatedMigrationAsync(string vmi)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(100, Ct))
            if ((await cluster.MigrationsOfAsync(vmi)).SingleOrDefault() is { } migration) return migration;
        throw new TimeoutException($"podvisor migrate {vmi} created no migration");
    }

    [Fact]
    public async Task ItFollowsTheMigrationToItsEndShowingProgress()
    {
        await cluster.CreateVmAsync("db-1", "runStrategy: Always");
        var vmi = await cluster.CreateRunningVmiAsync("db-1", node: "node-a");
        using var cli = Podvisor.Start(Args("migrate", "db-1"), native: true);
        cli.StandardInput.Close();
        var stdout = cli.StandardOutput.ReadToEndAsync(Ct);
        var stderr = cli.StandardError.ReadToEndAsync(Ct);

        var migration = await CreatedMigrationAsync("db-1");
        Assert.StartsWith("db-1-migration-", migration.Metadata.Name);
        var start = DateTimeOffset.UtcNow;
        await cluster.UpdateVmiStatusAsync(vmi, s => s.MigrationState = new MigrationState
        {
            MigrationUid = migration.Metadata.Uid, SourceNode = "node-a", TargetNode = "node-b", StartTimestamp = start,
        });
        migration = await cluster.UpdateMigrationStatusAsync(migration, s =>
        {
            s.Phase = MigrationPhases.Running;
            s.BytesTransferred = 64L << 20;
            s.RemainingBytes = 192L << 20;
            s.Iterations = 1;
        });
        await Task.Delay(1500, Ct);                                    // the CLI looks twice a second
        await cluster.UpdateVmiStatusAsync(vmi, s =>
        {
            s.MigrationState!.Completed = true;
            s.MigrationState.EndTimestamp = start.AddSeconds(4.2);
            s.NodeName = "node-b";
        });
        await cluster.UpdateMigrationStatusAsync(migration, s =>
        {
            s.Phase = MigrationPhases.Succeeded;
            s.BytesTransferred = 300L << 20;
            s.RemainingBytes = 0;
            s.Iterations = 3;
            s.DowntimeMilliseconds = 42.4;
        });
        await cli.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        string output = await stdout, errors = await stderr;
        Assert.True(cli.ExitCode == 0, $"exit {cli.ExitCode}: {errors}\n{output}");
        Assert.Contains($"podvisor: migrating default/db-1 ({migration.Metadata.Name}); Ctrl+C stops watching, not the migration", errors);
        // Output to a pipe: a line per phase, no carriage returns.
        Assert.Matches(@"Running +\[#{8}-{22}\]  25%  64\.0 MiB sent, 192\.0 MiB to go, round 1\n", output);
        Assert.DoesNotContain("\r", output);
        Assert.EndsWith("VM default/db-1 migrated from node-a to node-b in 4.2 s: downtime 42 ms, 300.0 MiB sent in 3 round(s)\n", output);
    }

    [Fact]
    public async Task AFailedMigrationExitsOneWithTheOperatorsReason()
    {
        await cluster.CreateRunningVmiAsync("db-2");
        using var cli = Podvisor.Start(Args("migrate", "db-2"), native: true);
        cli.StandardInput.Close();
        var stdout = cli.StandardOutput.ReadToEndAsync(Ct);
        var stderr = cli.StandardError.ReadToEndAsync(Ct);
        var migration = await CreatedMigrationAsync("db-2");
        await cluster.UpdateMigrationStatusAsync(migration, s =>
        {
            s.Phase = MigrationPhases.Failed;
            s.Conditions = [new Condition { Type = ConditionTypes.Ready, Status = "False", Reason = "MigrationFailed", Message = "no node can take the VM: every other node is full" }];
        });
        await cli.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await stdout;
        Assert.Equal(1, cli.ExitCode);
        Assert.Contains($"podvisor: migration {migration.Metadata.Name} failed: no node can take the VM: every other node is full", await stderr);
    }

    [Fact]
    public async Task OnlyARunningUnpausedVmNotAlreadyMigratingIsMigrated()
    {
        await cluster.CreateVmAsync("db-stopped", "runStrategy: Halted");
        Assert.Contains("VM db-stopped is not running: only a running VM migrates (`podvisor start db-stopped`)", Cli("migrate", "db-stopped").Stderr);
        Assert.Contains("no VM db-none in namespace default", Cli("migrate", "db-none").Stderr);

        var paused = await cluster.CreateRunningVmiAsync("db-paused");
        await cluster.UpdateVmiStatusAsync(paused, s => s.Conditions!.Add(new Condition { Type = ConditionTypes.Paused, Status = "True", Reason = "PausedByUser" }));
        Assert.Contains("VM db-paused is paused: unpause it first (`podvisor unpause db-paused`)", Cli("migrate", "db-paused").Stderr);

        await cluster.CreateRunningVmiAsync("db-busy");
        var first = Cli("migrate", "db-busy", "--no-wait");
        Assert.True(first.ExitCode == 0, first.Stderr);
        var migration = Assert.Single(await cluster.MigrationsOfAsync("db-busy"));
        Assert.Contains($"VM default/db-busy is migrating: VirtualMachineInstanceMigration {migration.Metadata.Name}", first.Stdout);
        var second = Cli("migrate", "db-busy");
        Assert.Equal(1, second.ExitCode);
        Assert.Contains($"VM db-busy is already migrating (VirtualMachineInstanceMigration {migration.Metadata.Name}, Pending)", second.Stderr);
        Assert.Single(await cluster.MigrationsOfAsync("db-busy"));
    }

    [Fact]
    public async Task CancelDeletesTheMigrationAndWaitsForTheOperatorToSayWhereTheVmIs()
    {
        var vmi = await cluster.CreateRunningVmiAsync("db-cancel", node: "node-a");
        Assert.Contains("VM db-cancel has no migration under way", Cli("migrate-cancel", "db-cancel").Stderr);

        var migration = await cluster.CreateMigrationAsync("db-cancel", OperatorFinalizer);
        await cluster.UpdateVmiStatusAsync(vmi, s => s.MigrationState = new MigrationState { MigrationUid = migration.Metadata.Uid, SourceNode = "node-a", TargetNode = "node-b" });
        using var cli = Podvisor.Start(Args("migrate-cancel", "db-cancel"), native: true);
        cli.StandardInput.Close();
        var stdout = cli.StandardOutput.ReadToEndAsync(Ct);
        var stderr = cli.StandardError.ReadToEndAsync(Ct);
        // The operator's part: the deletion is seen, the source stops sending, the VMI says so, the finalizer goes.
        for (var deadline = DateTime.UtcNow.AddSeconds(30); (await cluster.GetMigrationAsync(migration.Metadata.Name))?.Metadata.DeletionTimestamp is null; await Task.Delay(100, Ct))
            Assert.True(DateTime.UtcNow < deadline, "migrate-cancel did not delete the migration");
        Assert.False(cli.HasExited, "migrate-cancel returned before the operator had finished");
        await cluster.UpdateVmiStatusAsync(vmi, s =>
        {
            s.MigrationState!.AbortRequested = true;
            s.MigrationState.AbortStatus = "Succeeded";
            s.MigrationState.Failed = true;
        });
        await cluster.RemoveFinalizersAsync(migration);
        await cli.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(cli.ExitCode == 0, await stderr);
        Assert.Equal($"migration {migration.Metadata.Name} cancelled: VM default/db-cancel stays on node-a\n", await stdout);

        // One the operator never took up goes at once.
        var unseen = await cluster.CreateMigrationAsync("db-cancel");
        var result = Cli("migrate-cancel", "db-cancel");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal($"migration {unseen.Metadata.Name} of VM default/db-cancel cancelled before it started\n", result.Stdout);
        Assert.Empty(await cluster.MigrationsOfAsync("db-cancel"));
    }
}
