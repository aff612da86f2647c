<#
    A fake Windows for the guest scripts, loaded by the helper module's seam (W365.Platform.ps1 beside
    W365.Helpers.psm1 dot-sources this file into the module's scope). It redefines the Windows-only commands
    the scripts and the module use and answers from the machine's state (state.clixml, written by New-FakeMachine from a scenario
    and updated by every change a script makes, so the next script of the build sees it).

    Output is shaped like Windows': dsregcmd and reagentc print their real layout, objects carry the
    property names and types Windows PowerShell 5.1 returns. Time is the machine's clock: Start-Sleep
    advances it instantly and Get-Date reads it, so a 30-minute sysprep timeout takes milliseconds.
    Runs on Windows PowerShell 5.1 and PowerShell 7 alike.
#>
param([Parameter(Mandatory)] [string] $Machine)

$FakeMachineRoot = $Machine
$FakeStatePath = Join-Path $Machine 'state.clixml'
$FakeWindows = Import-Clixml -LiteralPath $FakeStatePath

# Folders of the fake machine: its C: drive is the folder C under the machine.
$W365SystemDrive = Join-Path $Machine 'C'
$W365SystemDriveLetter = 'C'
$W365SystemRoot = Join-Path $W365SystemDrive 'Windows'
$W365ProgramData = Join-Path $W365SystemDrive 'ProgramData'
$W365ProgramFiles = Join-Path $W365SystemDrive 'Program Files'
$W365UserName = $FakeWindows.buildUser

function Save-FakeWindows {
    $FakeWindows | Export-Clixml -LiteralPath $FakeStatePath -Depth 20
}

function Add-FakeEvent {
    param([Parameter(Mandatory)] [string] $Text)
    $FakeWindows.events.Add($Text) | Out-Null
    Save-FakeWindows
}

function Get-FakeNow {
    return [DateTime]::new([long]$FakeWindows.clockTicks, [DateTimeKind]::Utc)
}

# --- Registry ------------------------------------------------------------------------------
# Keys are stored by their full path in lower case ('hklm:\software\...'); parents exist implicitly.

function ConvertTo-FakeKey {
    param([Parameter(Mandatory)] [string] $Path)
    return ($Path -replace '^HKEY_LOCAL_MACHINE\\', 'HKLM:\' -replace '^Registry::HKEY_LOCAL_MACHINE\\', 'HKLM:\').TrimEnd('\').ToLowerInvariant()
}

function Test-W365RegistryKey {
    param([Parameter(Mandatory)] [string] $Path)
    $key = ConvertTo-FakeKey $Path
    foreach ($existing in @($FakeWindows.registry.Keys)) {
        if ($existing -eq $key -or $existing.StartsWith("$key\")) {
            return $true
        }
    }
    return $false
}

function Get-W365RegistrySubKeyName {
    param([Parameter(Mandatory)] [string] $Path)
    $key = ConvertTo-FakeKey $Path
    $names = New-Object System.Collections.Generic.List[string]
    foreach ($existing in @($FakeWindows.registry.Keys)) {
        if ($existing.StartsWith("$key\")) {
            $child = $existing.Substring($key.Length + 1).Split('\')[0]
            $original = $FakeWindows.registry[$existing].path.Substring($key.Length + 1).Split('\')[0]
            if ($names -notcontains $original) {
                $names.Add($original)
            }
            $null = $child
        }
    }
    return $names.ToArray()
}

function Get-FakeRegistryEntry {
    param([string] $Path, [string] $Name)
    $key = $FakeWindows.registry[(ConvertTo-FakeKey $Path)]
    if ($null -eq $key) {
        return $null
    }
    return $key.values[$Name.ToLowerInvariant()]
}

function Get-W365RegistryValue {
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Name)
    $entry = Get-FakeRegistryEntry -Path $Path -Name $Name
    if ($null -eq $entry) {
        return $null
    }
    if ($entry.kind -eq 'MultiString') {
        return [string[]]@($entry.value)
    }
    if ($entry.kind -eq 'DWord') {
        return [int]$entry.value
    }
    return $entry.value
}

function Get-W365RegistryValueKind {
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Name)
    $entry = Get-FakeRegistryEntry -Path $Path -Name $Name
    if ($null -eq $entry) {
        return $null
    }
    return [string]$entry.kind
}

function Set-FakeRegistryValue {
    param([string] $Path, [string] $Name, $Value, [string] $Kind)
    $keyName = ConvertTo-FakeKey $Path
    if (-not $FakeWindows.registry.ContainsKey($keyName)) {
        $FakeWindows.registry[$keyName] = @{ path = $Path.TrimEnd('\'); values = @{} }
    }
    $FakeWindows.registry[$keyName].values[$Name.ToLowerInvariant()] = @{ name = $Name; kind = $Kind; value = $Value }
}

function Set-W365RegistryValue {
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] $Value,
        [Parameter(Mandatory)] [ValidateSet('DWord', 'String', 'QWord', 'MultiString', 'ExpandString')] [string] $Kind
    )
    Set-FakeRegistryValue -Path $Path -Name $Name -Value $Value -Kind $Kind
    Add-FakeEvent "registry set $Path $Name = $Value ($Kind)"
}

function Remove-W365RegistryValue {
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Name)
    $key = $FakeWindows.registry[(ConvertTo-FakeKey $Path)]
    if ($null -ne $key -and $key.values.ContainsKey($Name.ToLowerInvariant())) {
        $key.values.Remove($Name.ToLowerInvariant())
        Add-FakeEvent "registry delete $Path $Name"
    }
}

# --- Time ----------------------------------------------------------------------------------

function Update-FakeTime {
    <# Applies what was due by now: sysprep finishing, TiWorker ending. #>
    $now = Get-FakeNow
    $sysprep = $FakeWindows.sysprep
    if ($null -ne $sysprep.startedTicks -and -not $sysprep.done) {
        $started = [DateTime]::new([long]$sysprep.startedTicks, [DateTimeKind]::Utc)
        if ($sysprep.outcome -ne 'hang' -and $now -ge $started.AddSeconds([int]$sysprep.seconds)) {
            Complete-FakeSysprep
        }
    }
}

function Start-Sleep {
    param([int] $Seconds = 0, [int] $Milliseconds = 0)
    $FakeWindows.clockTicks = (Get-FakeNow).AddSeconds($Seconds).AddMilliseconds($Milliseconds).Ticks
    Update-FakeTime
    Save-FakeWindows
}

function Get-Date {
    if ($args.Count -eq 0 -and $PSBoundParameters.Count -eq 0) {
        return (Get-FakeNow)
    }
    return (Microsoft.PowerShell.Utility\Get-Date @args)
}

# --- Processes, services, CIM, BitLocker, scheduled tasks -----------------------------------

function Get-Process {
    $now = Get-FakeNow
    foreach ($process in @($FakeWindows.processes)) {
        $until = $process.untilTicks
        if ($null -eq $until -or $now.Ticks -lt [long]$until) {
            [pscustomobject]@{ ProcessName = [string]$process.name; Id = [int]$process.id }
        }
    }
}

function Get-Service {
    foreach ($service in @($FakeWindows.services)) {
        [pscustomobject]@{
            Name        = [string]$service.name
            DisplayName = [string]$service.displayName
            Status      = [string]$service.status
            StartType   = [string]$service.startType
        }
    }
}

function Get-CimInstance {
    param([Parameter(Mandatory)] [string] $ClassName)
    switch ($ClassName) {
        'Win32_OperatingSystem' {
            return [pscustomobject]@{ ProductType = [uint32]$FakeWindows.os.productType; OSArchitecture = [string]$FakeWindows.os.architecture; Caption = [string]$FakeWindows.os.caption }
        }
        'Win32_ComputerSystem' {
            return [pscustomobject]@{ PartOfDomain = [bool]$FakeWindows.computerSystem.partOfDomain; Domain = [string]$FakeWindows.computerSystem.domain }
        }
        default { throw "Get-CimInstance: the fake Windows has no class $ClassName." }
    }
}

function Get-BitLockerVolume {
    foreach ($volume in @($FakeWindows.bitLocker)) {
        [pscustomobject]@{
            MountPoint           = [string]$volume.mountPoint
            VolumeType           = [string]$volume.volumeType
            VolumeStatus         = [string]$volume.volumeStatus
            ProtectionStatus     = [string]$volume.protectionStatus
            EncryptionPercentage = [single]$volume.encryptionPercentage
            EncryptionMethod     = [string]$volume.encryptionMethod
        }
    }
}

function Get-FakeTask {
    param([string] $TaskPath, [string] $TaskName)
    $task = $FakeWindows.scheduledTasks["$TaskPath$TaskName"]
    if ($null -eq $task) {
        throw "No MSFT_ScheduledTask objects found with property 'TaskName' equal to '$TaskName'."
    }
    return $task
}

function Get-ScheduledTask {
    param([string] $TaskPath, [string] $TaskName)
    $task = Get-FakeTask -TaskPath $TaskPath -TaskName $TaskName
    return [pscustomobject]@{ TaskPath = $TaskPath; TaskName = $TaskName; State = [string]$task.state }
}

function Disable-ScheduledTask {
    param([string] $TaskPath, [string] $TaskName)
    (Get-FakeTask -TaskPath $TaskPath -TaskName $TaskName).state = 'Disabled'
    Add-FakeEvent "task disabled $TaskPath$TaskName"
    return (Get-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName)
}

function Enable-ScheduledTask {
    param([string] $TaskPath, [string] $TaskName)
    (Get-FakeTask -TaskPath $TaskPath -TaskName $TaskName).state = 'Ready'
    Add-FakeEvent "task enabled $TaskPath$TaskName"
    return (Get-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName)
}

# --- Storage -------------------------------------------------------------------------------

function ConvertTo-FakePartition {
    param($Partition)
    $letter = [char]0
    if ([string]$Partition.driveLetter -ne '') {
        $letter = [char][string]$Partition.driveLetter
    }
    return [pscustomobject]@{
        DiskNumber      = [uint32]$Partition.diskNumber
        PartitionNumber = [uint32]$Partition.partitionNumber
        Type            = [string]$Partition.type
        GptType         = [string]$Partition.gptType
        MbrType         = $null
        Size            = [uint64]$Partition.size
        Offset          = [uint64]$Partition.offset
        DriveLetter     = $letter
        IsBoot          = [bool]$Partition.isBoot
        IsSystem        = [bool]$Partition.isSystem
    }
}

function Get-Partition {
    param([char] $DriveLetter, [Nullable[uint32]] $DiskNumber, [Nullable[uint32]] $PartitionNumber)
    $byLetter = $PSBoundParameters.ContainsKey('DriveLetter')
    $found = @($FakeWindows.partitions | Where-Object {
            (-not $byLetter -or [string]$_.driveLetter -eq [string]$DriveLetter) -and
            ($null -eq $DiskNumber -or [uint32]$_.diskNumber -eq $DiskNumber) -and
            ($null -eq $PartitionNumber -or [uint32]$_.partitionNumber -eq $PartitionNumber)
        })
    if ($found.Count -eq 0 -and ($byLetter -or $null -ne $PartitionNumber)) {
        throw "No MSFT_Partition objects found with property 'DriveLetter' equal to '$DriveLetter'."
    }
    foreach ($partition in $found) {
        ConvertTo-FakePartition $partition
    }
}

function Remove-Partition {
    param([uint32] $DiskNumber, [uint32] $PartitionNumber, [switch] $Confirm)
    $partition = @($FakeWindows.partitions | Where-Object { [uint32]$_.diskNumber -eq $DiskNumber -and [uint32]$_.partitionNumber -eq $PartitionNumber })
    if ($partition.Count -ne 1) {
        throw "Remove-Partition: no partition $PartitionNumber on disk $DiskNumber."
    }
    $FakeWindows.partitions.Remove($partition[0])
    Add-FakeEvent "partition removed $DiskNumber/$PartitionNumber"
}

function Update-Disk {
    param([uint32] $Number)
}

function Get-PartitionSupportedSize {
    param([uint32] $DiskNumber, [uint32] $PartitionNumber)
    $partition = @($FakeWindows.partitions | Where-Object { [uint32]$_.diskNumber -eq $DiskNumber -and [uint32]$_.partitionNumber -eq $PartitionNumber })[0]
    $end = [uint64]$FakeWindows.disk.size
    foreach ($other in @($FakeWindows.partitions)) {
        if ([uint64]$other.offset -gt [uint64]$partition.offset -and [uint64]$other.offset -lt $end) {
            $end = [uint64]$other.offset
        }
    }
    return [pscustomobject]@{ SizeMin = [uint64]$partition.size; SizeMax = [uint64]($end - [uint64]$partition.offset) }
}

function Resize-Partition {
    param([uint32] $DiskNumber, [uint32] $PartitionNumber, [uint64] $Size)
    $supported = Get-PartitionSupportedSize -DiskNumber $DiskNumber -PartitionNumber $PartitionNumber
    if ($Size -gt $supported.SizeMax) {
        throw "Resize-Partition: the size extent is larger than the maximum size supported by the partition."
    }
    $partition = @($FakeWindows.partitions | Where-Object { [uint32]$_.diskNumber -eq $DiskNumber -and [uint32]$_.partitionNumber -eq $PartitionNumber })[0]
    $partition.size = $Size
    Add-FakeEvent "partition resized $DiskNumber/$PartitionNumber to $Size"
}

# --- AppX ----------------------------------------------------------------------------------

function ConvertTo-FakeAppxPackage {
    param($Package, [switch] $WithUsers)
    $users = @()
    if ($WithUsers) {
        $users = @($Package.users | ForEach-Object {
                [pscustomobject]@{
                    UserSecurityId = [pscustomobject]@{ Username = [string]$_.userName; Sid = [string]$_.sid }
                    InstallState   = [string]$_.installState
                }
            })
    }
    return [pscustomobject]@{
        Name                   = [string]$Package.name
        PackageFullName        = [string]$Package.packageFullName
        Version                = [string]$Package.version
        IsFramework            = [bool]$Package.isFramework
        NonRemovable           = [bool]$Package.nonRemovable
        SignatureKind          = [string]$Package.signatureKind
        PackageUserInformation = $users
    }
}

function Get-AppxPackage {
    param([string] $Name, [switch] $AllUsers)
    foreach ($package in @($FakeWindows.appxInstalled)) {
        if ($Name -and [string]$package.name -ne $Name) {
            continue
        }
        # Without -AllUsers, Windows lists the packages of the user running the command (the WinRM build user).
        if (-not $AllUsers -and @($package.users | Where-Object { $_.userName -eq $FakeWindows.buildUser }).Count -eq 0) {
            continue
        }
        ConvertTo-FakeAppxPackage -Package $package -WithUsers:$AllUsers
    }
}

function Get-AppxProvisionedPackage {
    param([switch] $Online)
    # DISM's AppxPackageObject: Architecture is the numeric ProcessorArchitecture (9 x64, 11 neutral).
    foreach ($package in @($FakeWindows.appxProvisioned)) {
        $parts = ([string]$package.packageName).Split('_')
        [pscustomobject]@{
            Version         = [string]$package.version
            Architecture    = $(if ($parts.Count -gt 2 -and $parts[2] -eq 'x64') { 9 } else { 11 })
            ResourceId      = $(if ($parts.Count -gt 3 -and $parts[3] -ne '') { $parts[3] } else { '~' })
            DisplayName     = [string]$package.displayName
            PackageName     = [string]$package.packageName
            PublisherId     = $parts[-1]
            InstallLocation = "%SYSTEMDRIVE%\Program Files\WindowsApps\$($package.packageName)\AppxManifest.xml"
            Online          = $true
        }
    }
}

function Remove-AppxPackage {
    param([string] $Package, [switch] $AllUsers)
    $found = @($FakeWindows.appxInstalled | Where-Object { $_.packageFullName -eq $Package })
    if ($found.Count -eq 0) {
        throw "Remove-AppxPackage: package $Package was not found."
    }
    $FakeWindows.appxInstalled.Remove($found[0])
    Add-FakeEvent "appx removed $Package"
}

function Remove-AppxProvisionedPackage {
    param([switch] $Online, [string] $PackageName, [switch] $AllUsers)
    $found = @($FakeWindows.appxProvisioned | Where-Object { $_.packageName -eq $PackageName })
    if ($found.Count -eq 0) {
        throw "Remove-AppxProvisionedPackage: package $PackageName is not provisioned."
    }
    $FakeWindows.appxProvisioned.Remove($found[0])
    Add-FakeEvent "appx unprovisioned $PackageName"
    return [pscustomobject]@{ Online = $true; RestartNeeded = $false }
}

function Add-AppxProvisionedPackage {
    param([switch] $Online, [string] $PackagePath, [switch] $SkipLicense)
    $download = Get-FakeDownloadOfFile -Path $PackagePath
    $FakeWindows.appxProvisioned.Add(@{
            displayName = $download.provisions.displayName
            packageName = $download.provisions.packageName
            version     = $download.provisions.version
        }) | Out-Null
    Add-FakeEvent "appx provisioned $($download.provisions.packageName)"
    return [pscustomobject]@{ Online = $true; RestartNeeded = $false }
}

# --- Downloads and signatures ---------------------------------------------------------------

function Get-FakeDownloadOfFile {
    param([string] $Path)
    $uri = (Get-Content -LiteralPath $Path -Raw).Trim() -replace '^fake download of ', ''
    $download = $FakeWindows.downloads[$uri]
    if ($null -eq $download) {
        throw "The fake Windows has no download $uri."
    }
    return $download
}

function Invoke-WebRequest {
    param([string] $Uri, [string] $OutFile, [switch] $UseBasicParsing, [int] $TimeoutSec)
    $download = $FakeWindows.downloads[$Uri]
    if ($null -eq $download) {
        throw "The remote name could not be resolved: no download $Uri in this scenario."
    }
    $download.attempts = [int]$download.attempts + 1
    Save-FakeWindows
    if ([int]$download.attempts -le [int]$download.failFirst) {
        throw 'The remote server returned an error: (503) Server Unavailable.'
    }
    [System.IO.File]::WriteAllText($OutFile, "fake download of $Uri")
    Add-FakeEvent "download $Uri"
}

function Get-AuthenticodeSignature {
    param([string] $FilePath)
    $download = Get-FakeDownloadOfFile -Path $FilePath
    $status = 'Valid'
    $message = 'Signature verified.'
    if ($download.signature -eq 'untrusted') {
        $status = 'NotSigned'
        $message = 'The file is not digitally signed.'
    }
    return [pscustomobject]@{
        Status            = $status
        StatusMessage     = $message
        SignerCertificate = [pscustomobject]@{ Subject = 'CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US' }
        Path              = $FilePath
    }
}

# --- Installed software: uninstall entries, updates, Defender, file versions ---------------
# The Uninstall keys as installers write them: an MSI product under its product code (WindowsInstaller = 1), a
# Burn bundle (the Visual C++ redistributable, a 32-bit program) in the WOW6432Node view, its MSI payloads hidden
# with SystemComponent = 1.

function Add-FakeVcRedistUninstallEntries {
    $x64 = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{2E72FA1F-BADB-4337-B8AE-F7C17EB5B6A4}'
    Set-FakeRegistryValue -Path $x64 -Name 'DisplayName' -Value 'Microsoft Visual C++ 2022 X64 Minimum Runtime - 14.44.35211' -Kind String
    Set-FakeRegistryValue -Path $x64 -Name 'DisplayVersion' -Value '14.44.35211' -Kind String
    Set-FakeRegistryValue -Path $x64 -Name 'Publisher' -Value 'Microsoft Corporation' -Kind String
    Set-FakeRegistryValue -Path $x64 -Name 'SystemComponent' -Value 1 -Kind DWord
    Set-FakeRegistryValue -Path $x64 -Name 'WindowsInstaller' -Value 1 -Kind DWord
    $bundle = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{6ba9fb5e-8366-4cc4-bf65-25fe9819b2fc}'
    Set-FakeRegistryValue -Path $bundle -Name 'DisplayName' -Value 'Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.44.35211' -Kind String
    Set-FakeRegistryValue -Path $bundle -Name 'DisplayVersion' -Value '14.44.35211.0' -Kind String
    Set-FakeRegistryValue -Path $bundle -Name 'Publisher' -Value 'Microsoft Corporation' -Kind String
    Set-FakeRegistryValue -Path $bundle -Name 'BundleVersion' -Value '14.44.35211.0' -Kind String
    Set-FakeRegistryValue -Path $bundle -Name 'UninstallString' -Value '"C:\ProgramData\Package Cache\{6ba9fb5e-8366-4cc4-bf65-25fe9819b2fc}\VC_redist.x64.exe"  /uninstall' -Kind String
}

function Add-FakeWebRtcUninstallEntry {
    $key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{D7CB3A4B-8D44-4E3B-9C26-4E2D5A1F8C11}'
    Set-FakeRegistryValue -Path $key -Name 'DisplayName' -Value 'Remote Desktop WebRTC Redirector Service' -Kind String
    Set-FakeRegistryValue -Path $key -Name 'DisplayVersion' -Value '1.54.2408.19001' -Kind String
    Set-FakeRegistryValue -Path $key -Name 'Publisher' -Value 'Microsoft Corporation' -Kind String
    Set-FakeRegistryValue -Path $key -Name 'WindowsInstaller' -Value 1 -Kind DWord
    Set-FakeRegistryValue -Path $key -Name 'UninstallString' -Value 'MsiExec.exe /X{D7CB3A4B-8D44-4E3B-9C26-4E2D5A1F8C11}' -Kind ExpandString
}

function Get-HotFix {
    <#
        Win32_QuickFixEngineering as Windows PowerShell 5.1 shows it: InstalledOn is a script property that parses
        WMI's string (M/d/yyyy; empty for some updates, which then reads as nothing).
    #>
    foreach ($fix in @($FakeWindows.hotFixes)) {
        $item = [pscustomobject]@{
            Source      = [string]$FakeWindows.computerName
            Description = [string]$fix.description
            HotFixID    = [string]$fix.id
            InstalledBy = [string]$fix.installedBy
        }
        $raw = ([string]$fix.installedOn) -replace "'", ''
        $item | Add-Member -MemberType ScriptProperty -Name InstalledOn -Value ([scriptblock]::Create("[DateTime]::Parse('$raw', [System.Globalization.CultureInfo]::GetCultureInfo('en-US'))"))
        $item
    }
}

function Get-MpComputerStatus {
    $defender = $FakeWindows.defender
    if ($null -eq $defender) {
        throw 'Get-MpComputerStatus: A general error occurred that is not covered by a more specific error code.'
    }
    return [pscustomobject]@{
        AMEngineVersion           = [string]$defender.engine
        AMProductVersion          = [string]$defender.platform
        AMServiceEnabled          = $true
        AMServiceVersion          = [string]$defender.platform
        AntivirusEnabled          = $true
        AntivirusSignatureVersion = [string]$defender.signatures
        RealTimeProtectionEnabled = $true
    }
}

function Get-W365FileVersion {
    <# The machine's files carry no version resource: their product versions are in the scenario, by path under C:. #>
    param([Parameter(Mandatory)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return $null
    }
    $relative = $Path.Substring($W365SystemDrive.Length).TrimStart('\', '/') -replace '\\', '/'
    foreach ($file in @($FakeWindows.fileVersions.Keys)) {
        if ($file -eq $relative) {
            return [string]$FakeWindows.fileVersions[$file]
        }
    }
    return $null
}

# --- Programs ------------------------------------------------------------------------------

function Get-FakeDsregcmdText {
    $join = $FakeWindows.dsregcmd
    return @(
        '',
        '+----------------------------------------------------------------------+',
        '| Device State                                                         |',
        '+----------------------------------------------------------------------+',
        '',
        "             AzureAdJoined : $($join.azureAdJoined)",
        "          EnterpriseJoined : $($join.enterpriseJoined)",
        "              DomainJoined : $($join.domainJoined)",
        "               Device Name : $($FakeWindows.computerName)",
        '',
        '+----------------------------------------------------------------------+',
        '| User State                                                           |',
        '+----------------------------------------------------------------------+',
        '',
        '                    NgcSet : NO',
        '           WorkplaceJoined : NO',
        '             WamDefaultSet : NO',
        ''
    )
}

function Get-FakeReagentcText {
    $location = ''
    if ($FakeWindows.winRe.status -eq 'Enabled') {
        $location = $FakeWindows.winRe.location
    }
    return @(
        '',
        'Windows Recovery Environment (Windows RE) and system reset configuration',
        'Information:',
        '',
        "    Windows RE status:         $($FakeWindows.winRe.status)",
        "    Windows RE location:       $location",
        '    Boot Configuration Data (BCD) identifier: 9c9d2a4e-2b1b-11ef-9d5b-000d3a4b2c1f',
        '    Recovery image location:   ',
        '    Recovery image index:      0',
        '    Custom image location:     ',
        '    Custom image index:        0',
        '',
        'REAGENTC.EXE: Operation Successful.',
        ''
    )
}

function Invoke-W365Executable {
    param([Parameter(Mandatory)] [string] $FilePath, [string[]] $ArgumentList = @())
    $program = (Split-Path -Leaf $FilePath).ToLowerInvariant()
    $arguments = $ArgumentList -join ' '
    Add-FakeEvent "run $program $arguments"
    $exitCode = 0
    $output = @()
    switch ($program) {
        'dsregcmd.exe' {
            $exitCode = [int]$FakeWindows.dsregcmd.exitCode
            if ($exitCode -eq 0) {
                $output = Get-FakeDsregcmdText
            }
            else {
                $output = @('Failed to get the device state: 0x80070005 Access is denied.')
            }
        }
        'reagentc.exe' {
            switch ($arguments) {
                '/info' { $output = Get-FakeReagentcText }
                '/disable' {
                    $FakeWindows.winRe.status = 'Disabled'
                    $output = @('REAGENTC.EXE: Operation Successful.', '')
                }
                '/enable' {
                    $FakeWindows.winRe.status = 'Enabled'
                    $FakeWindows.winRe.location = '\\?\GLOBALROOT\device\harddisk0\partition3\Recovery\WindowsRE'
                    $output = @('REAGENTC.EXE: Operation Successful.', '')
                }
                default { throw "The fake reagentc has no answer for '$arguments'." }
            }
        }
        'teamsbootstrapper.exe' {
            $bootstrapper = $FakeWindows.teamsBootstrapper
            $exitCode = [int]$bootstrapper.exitCode
            $output = @([string]$bootstrapper.output)
            if ($bootstrapper.provisions) {
                $FakeWindows.appxProvisioned.Add(@{ displayName = 'MSTeams'; packageName = 'MSTeams_25290.205.3950.9185_x64__8wekyb3d8bbwe'; version = '25290.205.3950.9185' }) | Out-Null
            }
        }
        'dism.exe' {
            $output = @('', 'Deployment Image Servicing and Management tool', 'Version: 10.0.26100.5074', '', 'Image Version: 10.0.26200.6899', '', '[==========================100.0%==========================]', 'The operation completed successfully.')
        }
        default { throw "The fake Windows cannot run $FilePath." }
    }
    Save-FakeWindows
    $global:LASTEXITCODE = $exitCode
    return $output
}

function Start-Process {
    param([string] $FilePath, [string[]] $ArgumentList, [switch] $Wait, [switch] $PassThru, [switch] $NoNewWindow)
    $program = (Split-Path -Leaf $FilePath).ToLowerInvariant()
    Add-FakeEvent "start $program $($ArgumentList -join ' ')"
    $exitCode = 0
    switch ($program) {
        'vc_redist.x64.exe' {
            $null = Get-FakeDownloadOfFile -Path $FilePath
            Set-FakeRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\X64' -Name 'Installed' -Value 1 -Kind DWord
            Set-FakeRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\X64' -Name 'Version' -Value 'v14.44.35211.00' -Kind String
            Add-FakeVcRedistUninstallEntries
        }
        'msiexec.exe' {
            $FakeWindows.services.Add(@{ name = 'RDWebRTCSvc'; displayName = 'Remote Desktop WebRTC Redirector Service'; status = 'Running'; startType = 'Automatic' }) | Out-Null
            Add-FakeWebRtcUninstallEntry
        }
        'sysprep.exe' {
            $FakeWindows.sysprep.startedTicks = $FakeWindows.clockTicks
            $panther = Join-Path $W365SystemRoot 'System32\Sysprep\Panther'
            New-Item -ItemType Directory -Path $panther -Force | Out-Null
            $stamp = (Get-FakeNow).ToString('yyyy-MM-dd HH:mm:ss')
            [System.IO.File]::WriteAllLines((Join-Path $panther 'setupact.log'), [string[]]@("$stamp, Info                  SYSPRP ========================================================", "$stamp, Info                  SYSPRP ===    Beginning of a new sysprep run                    ==="))
            Save-FakeWindows
            return [pscustomobject]@{ Id = 4242; HasExited = $false; ExitCode = $null }
        }
        default { throw "The fake Windows cannot start $FilePath." }
    }
    Save-FakeWindows
    return [pscustomobject]@{ Id = 4243; HasExited = $true; ExitCode = $exitCode }
}

function Complete-FakeSysprep {
    $sysprep = $FakeWindows.sysprep
    $sysprep.done = $true
    $panther = Join-Path $W365SystemRoot 'System32\Sysprep\Panther'
    New-Item -ItemType Directory -Path $panther -Force | Out-Null
    $stamp = (Get-FakeNow).ToString('yyyy-MM-dd HH:mm:ss')
    $act = @(Get-Content -LiteralPath (Join-Path $panther 'setupact.log'))
    $err = @()
    switch ($sysprep.outcome) {
        'sealed' {
            Set-FakeRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -Name 'ImageState' -Value 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE' -Kind String
            $act += "$stamp, Info                  SYSPRP Sysprep_Generalize_Internal: successfully generalized"
        }
        'undeployable' {
            Set-FakeRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -Name 'ImageState' -Value 'IMAGE_STATE_UNDEPLOYABLE' -Kind String
            $act += "$stamp, Error                 SYSPRP ActionPlatform::LaunchModule: Failure occurred while executing 'SysprepGeneralizeValidate' from C:\Windows\System32\AppxSysprep.dll; dwRet = 0x80073cf2"
        }
        'setuperr' {
            $line = "$stamp, Error                 SYSPRP Package Microsoft.WidgetsPlatformRuntime_1.6.1.0_x64__8wekyb3d8bbwe was installed for a user, but not provisioned for all users. This package will not function properly in the sysprep image."
            $act += $line
            $err += $line
        }
    }
    [System.IO.File]::WriteAllLines((Join-Path $panther 'setupact.log'), [string[]]$act)
    [System.IO.File]::WriteAllLines((Join-Path $panther 'setuperr.log'), [string[]]$err)
    Save-FakeWindows
}

# --- Instance metadata service ------------------------------------------------------------

function Invoke-RestMethod {
    param([string] $Uri, [hashtable] $Headers, [string] $Method = 'Get', [int] $TimeoutSec, [switch] $UseBasicParsing)
    if ($Uri -notlike 'http://169.254.169.254/metadata/*') {
        throw "The fake Windows has no network: $Uri"
    }
    if ($null -eq $Headers -or $Headers['Metadata'] -ne 'true') {
        throw 'The remote server returned an error: (400) Bad Request. Required metadata header not specified'
    }
    if ($null -eq $FakeWindows.imdsJson) {
        throw 'Unable to connect to the remote server'
    }
    return ($FakeWindows.imdsJson | ConvertFrom-Json)
}

# --- Windows Update Agent API (COM) ---------------------------------------------------------

function New-FakeUpdateCollection {
    $collection = [pscustomobject]@{ Items = (New-Object System.Collections.ArrayList) }
    $collection | Add-Member -MemberType ScriptProperty -Name Count -Value { $this.Items.Count }
    $collection | Add-Member -MemberType ScriptMethod -Name Add -Value { param($update) $this.Items.Add($update) }
    $collection | Add-Member -MemberType ScriptMethod -Name Item -Value { param($index) $this.Items[$index] }
    return $collection
}

function New-W365ComObject {
    param([Parameter(Mandatory)] [string] $ProgId)
    switch ($ProgId) {
        'Microsoft.Update.UpdateColl' { return (New-FakeUpdateCollection) }
        'Microsoft.Update.Session' {
            $session = [pscustomobject]@{ ClientApplicationID = '' }
            $session | Add-Member -MemberType ScriptMethod -Name CreateUpdateSearcher -Value {
                $searcher = [pscustomobject]@{}
                $searcher | Add-Member -MemberType ScriptMethod -Name Search -Value { param($criteria) Search-FakeUpdates -Criteria $criteria }
                return $searcher
            }
            $session | Add-Member -MemberType ScriptMethod -Name CreateUpdateDownloader -Value {
                $downloader = [pscustomobject]@{ Updates = $null }
                $downloader | Add-Member -MemberType ScriptMethod -Name Download -Value { [pscustomobject]@{ ResultCode = 2 } }
                return $downloader
            }
            $session | Add-Member -MemberType ScriptMethod -Name CreateUpdateInstaller -Value {
                $installer = [pscustomobject]@{ Updates = $null }
                $installer | Add-Member -MemberType ScriptMethod -Name Install -Value { Install-FakeUpdates -Collection $this.Updates }
                return $installer
            }
            return $session
        }
        default { throw "The fake Windows has no COM class $ProgId." }
    }
}

function Search-FakeUpdates {
    param([string] $Criteria)
    # The Windows Update Agent refuses a remote (WinRM) session; Packer's elevated task is a local logon.
    if ($FakeWindows.session -ne 'scheduled-task') {
        throw (New-Object System.Runtime.InteropServices.COMException('Exception from HRESULT: 0x80070005 (E_ACCESSDENIED)', -2147024891))
    }
    $browseOnlyExcluded = $Criteria -match '\bBrowseOnly\s*=\s*0\b'
    $found = New-FakeUpdateCollection
    foreach ($update in @($FakeWindows.updates)) {
        if ($update.installed -or [int]$update.offeredAfterRestarts -gt [int]$FakeWindows.restarts) {
            continue
        }
        if ($browseOnlyExcluded -and $update.browseOnly) {
            continue
        }
        $item = [pscustomobject]@{
            Title                = [string]$update.title
            EulaAccepted         = $true
            BrowseOnly           = [bool]$update.browseOnly
            Categories           = @($update.categories | ForEach-Object { [pscustomobject]@{ Name = [string]$_ } })
            InstallationBehavior = [pscustomobject]@{ CanRequestUserInput = $false }
        }
        $item | Add-Member -MemberType ScriptMethod -Name AcceptEula -Value { $this.EulaAccepted = $true }
        $null = $found.Add($item)
    }
    Add-FakeEvent "wu search '$Criteria': $($found.Count)"
    return [pscustomobject]@{ ResultCode = 2; Updates = @($found.Items) }
}

function Install-FakeUpdates {
    param($Collection)
    $results = New-Object System.Collections.ArrayList
    $overall = 2
    $reboot = $false
    foreach ($item in @($Collection.Items)) {
        $update = @($FakeWindows.updates | Where-Object { $_.title -eq $item.Title })[0]
        $code = [int]$update.resultCode
        if ($code -eq 2) {
            $update.installed = $true
            if ($update.rebootRequired) {
                $reboot = $true
            }
            Add-FakeEvent "wu installed $($update.title)"
        }
        else {
            $overall = 4
            Add-FakeEvent "wu failed $($update.title)"
        }
        $null = $results.Add([pscustomobject]@{ ResultCode = $code; HResult = [int]$update.hresult })
    }
    if ($reboot) {
        Set-FakeRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired' -Name 'w365-fake' -Value 1 -Kind DWord
        Set-FakeRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending' -Name 'w365-fake' -Value 1 -Kind DWord
    }
    Save-FakeWindows
    $result = [pscustomobject]@{ ResultCode = $overall; RebootRequired = $reboot; Results = $results }
    $result | Add-Member -MemberType ScriptMethod -Name GetUpdateResult -Value { param($index) $this.Results[$index] }
    return $result
}

# --- Inside the helpers module -------------------------------------------------------------
# Dot-sourced into the W365.Helpers module's scope, this file's W365 seam functions and folder variables
# replace the module's own (the module exports those names, so the scripts get these), and the module's
# functions call its replacements of Windows cmdlets. The scripts call Windows cmdlets directly too: those
# replacements are exported here, every function of this file but the W365 seam (the module decides what of
# that a script sees) and the fake's own plumbing (*Fake*). A replacement left out would let a scenario reach
# the real cmdlet.
if ($null -ne $ExecutionContext.SessionState.Module) {
    $fakeTokens = $null
    $fakeErrors = $null
    $fakeAst = [System.Management.Automation.Language.Parser]::ParseFile($PSCommandPath, [ref]$fakeTokens, [ref]$fakeErrors)
    $fakeCmdlets = @($fakeAst.EndBlock.Statements | Where-Object { $_ -is [System.Management.Automation.Language.FunctionDefinitionAst] } | ForEach-Object { $_.Name } | Where-Object { $_ -notmatch 'Fake|W365' })
    Export-ModuleMember -Function $fakeCmdlets
}

# --- Line coverage (the suite's measure, not part of the fake's answers) -------------------
# With W365_TEST_COVERAGE set (run.ps1 sets it), every statement line of the running script and of the helper
# gets a breakpoint whose action records the line once. The lines that ran before this file was loaded (the
# script's first three statements, the helper's definitions) are not traced.
function Enable-FakeCoverage {
    param([string] $File)
    $targets = @(Get-PSCallStack | ForEach-Object { $_.ScriptName } | Where-Object { $_ -and $_ -ne $PSCommandPath } | Sort-Object -Unique)
    $global:W365CoverageSeen = @{}
    foreach ($target in $targets) {
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($target, [ref]$tokens, [ref]$errors)
        $lines = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandBaseAst] }, $true) | ForEach-Object { $_.Extent.StartLineNumber } | Sort-Object -Unique)
        foreach ($line in $lines) {
            $null = Set-PSBreakpoint -Script $target -Line $line -Action {
                $key = "$($_.Script)|$($_.Line)"
                if (-not $global:W365CoverageSeen.ContainsKey($key)) {
                    $global:W365CoverageSeen[$key] = $true
                    [System.IO.File]::AppendAllText($env:W365_TEST_COVERAGE, "$key`n")
                }
            }
        }
    }
}
if ($env:W365_TEST_COVERAGE) {
    Enable-FakeCoverage -File $env:W365_TEST_COVERAGE
}
