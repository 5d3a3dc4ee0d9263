package gen

// Column lists in Advanced Hunting order (Microsoft's table reference). The
// generator fills a realistic subset per row; the CSV header carries all of
// the profile's columns.

// Network event columns.
const (
	nTimestamp = iota
	nDeviceId
	nDeviceName
	nActionType
	nRemoteIP
	nRemotePort
	nRemoteUrl
	nLocalIP
	nLocalPort
	nProtocol
	nLocalIPType
	nRemoteIPType
	nSHA1
	nSHA256
	nMD5
	nFileName
	nFileSize
	nVerCompany
	nVerProduct
	nVerProductVersion
	nVerInternalName
	nVerOriginalName
	nVerDescription
	nPID
	nCommandLine
	nCreationTime
	nFolderPath
	nParentFileName
	nParentPID
	nParentCreationTime
	nAccountDomain
	nAccountName
	nAccountSid
	nAccountUpn
	nAccountObjectId
	nIntegrityLevel
	nTokenElevation
	nReportId
	nAppGuardContainerId
	nAdditionalFields
	nSessionId
	nIsRemoteSession
	nRemoteSessionDeviceName
	nRemoteSessionIP
	// Log Analytics (Sentinel) columns.
	nTenantId
	nType
	nSourceSystem
	nColumns
)

var networkColumns = [nColumns]string{
	"Timestamp", "DeviceId", "DeviceName", "ActionType", "RemoteIP", "RemotePort", "RemoteUrl",
	"LocalIP", "LocalPort", "Protocol", "LocalIPType", "RemoteIPType",
	"InitiatingProcessSHA1", "InitiatingProcessSHA256", "InitiatingProcessMD5",
	"InitiatingProcessFileName", "InitiatingProcessFileSize",
	"InitiatingProcessVersionInfoCompanyName", "InitiatingProcessVersionInfoProductName",
	"InitiatingProcessVersionInfoProductVersion", "InitiatingProcessVersionInfoInternalFileName",
	"InitiatingProcessVersionInfoOriginalFileName", "InitiatingProcessVersionInfoFileDescription",
	"InitiatingProcessId", "InitiatingProcessCommandLine", "InitiatingProcessCreationTime",
	"InitiatingProcessFolderPath", "InitiatingProcessParentFileName", "InitiatingProcessParentId",
	"InitiatingProcessParentCreationTime", "InitiatingProcessAccountDomain",
	"InitiatingProcessAccountName", "InitiatingProcessAccountSid", "InitiatingProcessAccountUpn",
	"InitiatingProcessAccountObjectId", "InitiatingProcessIntegrityLevel",
	"InitiatingProcessTokenElevation", "ReportId", "AppGuardContainerId", "AdditionalFields",
	"InitiatingProcessSessionId", "IsInitiatingProcessRemoteSession",
	"InitiatingProcessRemoteSessionDeviceName", "InitiatingProcessRemoteSessionIP",
	"TenantId", "Type", "SourceSystem",
}

// DeviceInfo columns.
const (
	iTimestamp = iota
	iDeviceId
	iDeviceName
	iClientVersion
	iPublicIP
	iOSArchitecture
	iOSPlatform
	iOSBuild
	iIsAzureADJoined
	iJoinType
	iAadDeviceId
	iLoggedOnUsers
	iRegistryDeviceTag
	iOSVersion
	iMachineGroup
	iReportId
	iOnboardingStatus
	iAdditionalFields
	iDeviceCategory
	iDeviceType
	iDeviceSubtype
	iModel
	iVendor
	iOSDistribution
	iOSVersionInfo
	iMergedDeviceIds
	iMergedToDeviceId
	iIsInternetFacing
	iSensorHealthState
	iIsExcluded
	iExclusionReason
	iExposureLevel
	iAssetValue
	iDeviceManualTags
	iDeviceDynamicTags
	iConnectivityType
	iHostDeviceId
	iTenantId
	iType
	iSourceSystem
	iColumns
)

var deviceColumns = [iColumns]string{
	"Timestamp", "DeviceId", "DeviceName", "ClientVersion", "PublicIP", "OSArchitecture",
	"OSPlatform", "OSBuild", "IsAzureADJoined", "JoinType", "AadDeviceId", "LoggedOnUsers",
	"RegistryDeviceTag", "OSVersion", "MachineGroup", "ReportId", "OnboardingStatus",
	"AdditionalFields", "DeviceCategory", "DeviceType", "DeviceSubtype", "Model", "Vendor",
	"OSDistribution", "OSVersionInfo", "MergedDeviceIds", "MergedToDeviceId", "IsInternetFacing",
	"SensorHealthState", "IsExcluded", "ExclusionReason", "ExposureLevel", "AssetValue",
	"DeviceManualTags", "DeviceDynamicTags", "ConnectivityType", "HostDeviceId",
	"TenantId", "Type", "SourceSystem",
}

// columnsFor returns the column names for a format: the Advanced Hunting
// set, with TimeGenerated in place of Timestamp and the Log Analytics
// columns for the sentinel format.
func columnsFor(all []string, sentinel bool) []string {
	cols := append([]string(nil), all...)
	if sentinel {
		cols[0] = "TimeGenerated"
		return cols
	}
	return cols[:len(cols)-3]
}
