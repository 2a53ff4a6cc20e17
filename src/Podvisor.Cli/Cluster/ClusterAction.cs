using System.Net;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// Runs a cluster command's body against the cluster its flags name, and turns what goes wrong into one line on
/// standard error and exit code 1: the command's own <see cref="ClusterException"/>s, the API server's refusals (with
/// the permission to ask for when it is 403), and an API server that cannot be reached.
/// </summary>
internal static class ClusterAction
{
    public static async Task<int> RunAsync(ClusterOptions options, System.CommandLine.ParseResult parse, Func<ClusterConnection, Task<int>> body)
    {
        try
        {
            using var cluster = await options.ConnectAsync(parse, CancellationToken.None);
            return await body(cluster);
        }
        catch (ClusterException e)
        {
            Console.Error.WriteLine($"podvisor: {e.Message}");
        }
        catch (ApiServerException e)
        {
            Console.Error.WriteLine($"podvisor: the API server refused: {e.Message}{Advice(e.StatusCode)}");
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"podvisor: the API server: {Describe(e)}; check the kubeconfig's server and credentials");
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            Console.Error.WriteLine("podvisor: the API server did not answer in time; check that it is up and reachable from here");
        }
        return 1;
    }

    private static string Advice(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Forbidden => " (ask your cluster administrator for that permission)",
        HttpStatusCode.Unauthorized => " (the kubeconfig's credentials were not accepted)",
        _ => "",
    };

    /// <summary>The message with its causes (an HttpRequestException alone says only "an error occurred while sending").</summary>
    public static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (Exception? at = e; at is not null; at = at.InnerException)
            if (!parts.Contains(at.Message)) parts.Add(at.Message);
        return string.Join(": ", parts);
    }
}
