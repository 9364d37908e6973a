using System.IO.Abstractions;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Adoption;

/// <summary>Settings of an <see cref="OrphanAdopter"/>. Defaults live here.</summary>
internal sealed class AdoptionOptions
{
    /// <summary>This instance's own WAL directory, <c>{root}/{namespace}/{service}/{instance}</c>; its siblings are watched.</summary>
    public required string OwnDirectory { get; init; }

    /// <summary>A fresh copy of this instance's shipping settings (where and how to push); labels and line settings are replaced by each orphan's own.</summary>
    public required Func<ShipperOptions> Shipping { get; init; }

    /// <summary>Who adopts, sent as the <c>adopted_by</c> structured metadata: this instance's name.</summary>
    public required string AdoptedBy { get; init; }

    public HttpMessageHandler? Handler { get; init; }

    /// <summary>The lease this instance honours (at least; a longer one in an owner record wins) and uses for what it adopts.</summary>
    public LeaseOptions Lease { get; init; } = new();

    public static readonly TimeSpan DefaultScanInterval = TimeSpan.FromSeconds(10);

    /// <summary>How often the siblings are looked at, give or take a fifth. The default is 10 seconds.</summary>
    public TimeSpan ScanInterval { get; init; } = DefaultScanInterval;

    /// <summary>Directories adopted at the same time. The default is 2.</summary>
    public int MaxConcurrent { get; init; } = 2;

    /// <summary>How long a stop waits for the scan and the adoptions in progress to end. The default is 5 seconds.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Asked whether an owner is gone before the lease rule; the adopter starts and disposes it. Null: the lease rule alone.</summary>
    public IHolderLiveness? Liveness { get; init; }

    public IFileSystem FileSystem { get; init; } = new FileSystem();

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
