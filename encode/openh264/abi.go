package openh264

// Go mirrors of the C structures and constants of OpenH264's encoder API
// (wels/codec_app_def.h, codec_def.h, codec_api.h, version 2.x as in
// Debian's libopenh264-7). Each field has its C name, so that the layout
// test (abi_test.go) can check every offset and size: against
// testdata/abi_lp64.txt on any 64-bit GOARCH, and that file against what a
// C compiler makes of the real header, when one and libopenh264-dev are
// installed. The layouts hold for LP64 targets (amd64, arm64), where Go
// and C align int32, int64, float32, bool and pointers alike.

// Constants from the header.
const (
	cameraVideoRealTime = 0  // EUsageType CAMERA_VIDEO_REAL_TIME
	rcBitrateMode       = 1  // RC_MODES RC_BITRATE_MODE
	proBaseline         = 66 // EProfileIdc PRO_BASELINE
	smSingleSlice       = 0  // SliceModeEnum SM_SINGLE_SLICE
	constantID          = 0  // EParameterSetStrategy CONSTANT_ID
	lowComplexity       = 0  // ECOMPLEXITY_MODE LOW_COMPLEXITY
	videoFormatI420     = 23 // EVideoFormatType
	spatialLayerAll     = 4  // LAYER_NUM SPATIAL_LAYER_ALL
	welsLogQuiet        = 0  // WELS_LOG_QUIET

	// EVideoFrameType
	videoFrameTypeInvalid = 0
	videoFrameTypeIDR     = 1
	videoFrameTypeI       = 2
	videoFrameTypeP       = 3
	videoFrameTypeSkip    = 4

	// ENCODER_OPTION
	encoderOptionIDRInterval = 1
	encoderOptionFrameRate   = 4
	encoderOptionBitrate     = 5
	encoderOptionMaxBitrate  = 6
	encoderOptionTraceLevel  = 25

	maxSpatialLayerNum  = 4   // MAX_SPATIAL_LAYER_NUM
	maxLayerNumOfFrame  = 128 // MAX_LAYER_NUM_OF_FRAME
	maxNalUnitsInLayer  = 128 // MAX_NAL_UNITS_IN_LAYER
	maxSlicesNumTmp     = 35  // MAX_SLICES_NUM_TMP
	unspecifiedBitRate  = 0   // UNSPECIFIED_BIT_RATE
	cmResultSuccess     = 0   // CM_RETURN cmResultSuccess
	welsEncoderVtblSize = 9   // function pointers in ISVCEncoderVtbl
)

// SSliceArgument
type sliceArgument struct {
	uiSliceMode           int32
	uiSliceNum            uint32
	uiSliceMbNum          [maxSlicesNumTmp]uint32
	uiSliceSizeConstraint uint32
}

// SSpatialLayerConfig
type spatialLayerConfig struct {
	iVideoWidth               int32
	iVideoHeight              int32
	fFrameRate                float32
	iSpatialBitrate           int32
	iMaxSpatialBitrate        int32
	uiProfileIdc              int32
	uiLevelIdc                int32
	iDLayerQp                 int32
	sSliceArgument            sliceArgument
	bVideoSignalTypePresent   bool
	uiVideoFormat             uint8
	bFullRange                bool
	bColorDescriptionPresent  bool
	uiColorPrimaries          uint8
	uiTransferCharacteristics uint8
	uiColorMatrix             uint8
	bAspectRatioPresent       bool
	eAspectRatio              int32
	sAspectRatioExtWidth      uint16
	sAspectRatioExtHeight     uint16
}

// SEncParamExt
type encParamExt struct {
	iUsageType                 int32
	iPicWidth                  int32
	iPicHeight                 int32
	iTargetBitrate             int32
	iRCMode                    int32
	fMaxFrameRate              float32
	iTemporalLayerNum          int32
	iSpatialLayerNum           int32
	sSpatialLayers             [maxSpatialLayerNum]spatialLayerConfig
	iComplexityMode            int32
	uiIntraPeriod              uint32
	iNumRefFrame               int32
	eSpsPpsIdStrategy          int32
	bPrefixNalAddingCtrl       bool
	bEnableSSEI                bool
	bSimulcastAVC              bool
	iPaddingFlag               int32
	iEntropyCodingModeFlag     int32
	bEnableFrameSkip           bool
	iMaxBitrate                int32
	iMaxQp                     int32
	iMinQp                     int32
	uiMaxNalSize               uint32
	bEnableLongTermReference   bool
	iLTRRefNum                 int32
	iLtrMarkPeriod             uint32
	iMultipleThreadIdc         uint16
	bUseLoadBalancing          bool
	iLoopFilterDisableIdc      int32
	iLoopFilterAlphaC0Offset   int32
	iLoopFilterBetaOffset      int32
	bEnableDenoise             bool
	bEnableBackgroundDetection bool
	bEnableAdaptiveQuant       bool
	bEnableFrameCroppingFlag   bool
	bEnableSceneChangeDetect   bool
	bIsLosslessLink            bool
	bFixRCOverShoot            bool
	iIdrBitrateRatio           int32
}

// SLayerBSInfo. The pointers point into the encoder's own (C) memory.
type layerBSInfo struct {
	uiTemporalId     uint8
	uiSpatialId      uint8
	uiQualityId      uint8
	eFrameType       int32
	uiLayerType      uint8
	iSubSeqId        int32
	iNalCount        int32
	pNalLengthInByte *int32
	pBsBuf           *byte
}

// SFrameBSInfo
type frameBSInfo struct {
	iLayerNum         int32
	sLayerInfo        [maxLayerNumOfFrame]layerBSInfo
	eFrameType        int32
	iFrameSizeInBytes int32
	uiTimeStamp       int64
}

// SSourcePicture
type sourcePicture struct {
	iColorFormat int32
	iStride      [4]int32
	pData        [4]*byte
	iPicWidth    int32
	iPicHeight   int32
	uiTimeStamp  int64
}

// SBitrateInfo
type bitrateInfo struct {
	iLayer   int32
	iBitrate int32
}

// OpenH264Version
type version struct {
	uMajor, uMinor, uRevision, uReserved uint32
}

// ISVCEncoderVtbl: the encoder handle (ISVCEncoder*) points to a pointer
// to this table; every function takes the handle first.
type encoderVtbl struct {
	Initialize          uintptr
	InitializeExt       uintptr
	GetDefaultParams    uintptr
	Uninitialize        uintptr
	EncodeFrame         uintptr
	EncodeParameterSets uintptr
	ForceIntraFrame     uintptr
	SetOption           uintptr
	GetOption           uintptr
}
