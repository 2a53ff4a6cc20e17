using System.CommandLine;
using Podvisor.EmulatedHost;

namespace Podvisor.Cli;

/// <summary><c>podvisor emulated-host run -- CMD…</c>: runs a command inside a KVM host emulated by QEMU TCG.</summary>
internal static class EmulatedHostCommand
{
    public static Command Create()
    {
        var memory = new Option<int>("--memory") { Description = "memory of the emulated host, MiB", DefaultValueFactory = _ => 4096 };
        var cpus = new Option<int>("--cpus") { Description = "vCPUs of the emulated host", DefaultValueFactory = _ => 2 };
        var shares = new Option<string[]>("--share") { Description = "directory shared read-write (default: the current directory)", AllowMultipleArgumentsPerToken = false };
        var timeout = new Option<int>("--timeout") { Description = "seconds the command may run", DefaultValueFactory = _ => 1800 };
        var quiet = new Option<bool>("--quiet") { Description = "no progress lines on stderr" };
        var commandArgs = new Argument<string[]>("command") { Description = "the command and its arguments (after --)", Arity = ArgumentArity.OneOrMore };

        var run = new Command("run", "Boot the emulated KVM host, run one command in it (as root, same directory and environment), and print its output; exits with its exit code.")
        {
            memory, cpus, shares, timeout, quiet, commandArgs,
        };
        run.SetAction(async (parse, ct) =>
        {
            var given = parse.GetValue(shares);
            var options = new EmulatedHostOptions
            {
                MemoryMiB = parse.GetValue(memory),
                Cpus = parse.GetValue(cpus),
                WritableShares = given is { Length: > 0 } ? given : [Environment.CurrentDirectory],
                Log = parse.GetValue(quiet) ? null : line => Console.Error.WriteLine(line),
            };
            try
            {
                await using var host = await EmulatedKvmHost.StartAsync(options, ct);
                await using var stdout = Console.OpenStandardOutput();
                await using var stderr = Console.OpenStandardError();
                return await host.RunAsync(parse.GetValue(commandArgs)!, stdout, stderr, TimeSpan.FromSeconds(parse.GetValue(timeout)),
                    cancellationToken: ct);
            }
            catch (EmulatedHostException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 125;
            }
        });

        return new Command("emulated-host", "A Linux KVM host emulated by QEMU (TCG, emulated AMD-V): full KVM where /dev/kvm cannot boot stock kernels.")
        {
            run,
        };
    }
}
